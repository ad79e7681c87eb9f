/* Test-only helper for the C API test: a KMS-compatible server (KmsServer over a fresh
 * LocalKeyStore) on 127.0.0.1, callable from C. One CMK; access key "c-app" / "c-app-secret"
 * may do everything. */
#ifndef KMS_ENVELOPE_TESTS_C_TEST_KMS_SERVER_H_
#define KMS_ENVELOPE_TESTS_C_TEST_KMS_SERVER_H_

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct test_kms_server test_kms_server;

/* Starts a server with a new store in `dir`. Returns 0 on success and fills the port and the
 * CMK GUID (NUL-terminated). */
int test_kms_server_start(const char* dir, test_kms_server** out, int* port, char* key_id,
                          size_t key_id_cap);
void test_kms_server_stop(test_kms_server* server);

#ifdef __cplusplus
}
#endif

#endif /* KMS_ENVELOPE_TESTS_C_TEST_KMS_SERVER_H_ */
