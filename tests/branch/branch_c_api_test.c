/* The branch key functions of the C API, used from C over a real local key store and a file
 * branch key store under $TEST_TMPDIR: create, rotate, list, a per-tenant provider, refusals. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kms_envelope/c/kms_envelope.h"
#include "tests/c/c_check.h"

int main(void) {
  const char* base = getenv("TEST_TMPDIR");
  char kms_dir[1024], store[1100];
  snprintf(kms_dir, sizeof(kms_dir), "%s/kms", base != NULL ? base : "/tmp");
  snprintf(store, sizeof(store), "file:%s/branch", base != NULL ? base : "/tmp");
  kmse_error err;
  kmse_provider* kms = NULL;
  CHECK_STATUS(kmse_local_provider_open(kms_dir, NULL, &kms, &err), KMSE_OK, &err);
  char cmk[128];
  size_t cmk_len = 0;
  CHECK_STATUS(kmse_local_create_key(kms, "root", cmk, sizeof(cmk), &cmk_len, &err), KMSE_OK, &err);

  uint32_t version = 0;
  CHECK_STATUS(kmse_branch_key_create(kms, store, cmk, "tenant-a", &version, &err), KMSE_OK, &err);
  CHECK(version == 1, "version %u", version);
  CHECK_STATUS(kmse_branch_key_create(kms, store, cmk, "tenant-b", &version, &err), KMSE_OK, &err);
  CHECK_STATUS(kmse_branch_key_rotate(kms, store, NULL, "tenant-a", &version, &err), KMSE_OK, &err);
  CHECK(version == 2, "version %u", version);
  CHECK_STATUS(kmse_branch_key_create(kms, store, cmk, "tenant-a", &version, &err),
               KMSE_ERR_PERMISSION_DENIED, &err);
  CHECK(strcmp(err.kms_code, "Rejected.StateModifiedFailed") == 0, "%s", err.kms_code);
  CHECK_STATUS(kmse_branch_key_rotate(kms, "nosuch:x", NULL, "tenant-a", &version, &err),
               KMSE_ERR_INVALID_ARGUMENT, &err);

  uint32_t versions[4] = {0};
  size_t count = 0;
  uint32_t active = 0;
  CHECK_STATUS(kmse_branch_key_list(store, "tenant-a", NULL, 0, &count, &active, &err),
               KMSE_ERR_BUFFER_TOO_SMALL, &err);
  CHECK(count == 2, "count %zu", count);
  CHECK_STATUS(kmse_branch_key_list(store, "tenant-a", versions, 4, &count, &active, &err),
               KMSE_OK, &err);
  CHECK(count == 2 && versions[0] == 1 && versions[1] == 2 && active == 2, "list %zu %u %u %u",
        count, versions[0], versions[1], active);
  CHECK_STATUS(kmse_branch_key_list(store, "nobody", versions, 4, &count, &active, &err),
               KMSE_ERR_NOT_FOUND, &err);

  kmse_provider* branch = NULL;
  CHECK_STATUS(kmse_branch_provider_open(kms, store, "tenant", "tenant-", 0, &branch, &err),
               KMSE_OK, &err);
  kmse_provider_free(kms); /* the branch provider keeps it alive */
  uint8_t key[32], again[32], blob[512];
  size_t key_len = 0, again_len = 0, blob_len = 0;
  kmse_key_info info;
  CHECK_STATUS(kmse_generate_data_key(branch, "", 0, "{\"tenant\":\"a\"}", key, sizeof(key),
                                      &key_len, blob, sizeof(blob), &blob_len, &info, &err),
               KMSE_OK, &err);
  CHECK(strcmp(info.key_id, "tenant-a") == 0 && strcmp(info.key_version_id, "2") == 0, "%s %s",
        info.key_id, info.key_version_id);
  CHECK_STATUS(kmse_decrypt(branch, blob, blob_len, "{\"tenant\":\"a\"}", again, sizeof(again),
                            &again_len, &info, &err),
               KMSE_OK, &err);
  CHECK(again_len == 32 && memcmp(key, again, 32) == 0, "round trip");
  CHECK_STATUS(kmse_decrypt(branch, blob, blob_len, "{\"tenant\":\"b\"}", again, sizeof(again),
                            &again_len, &info, &err),
               KMSE_ERR_PERMISSION_DENIED, &err);
  CHECK(strcmp(err.kms_code, "Forbidden.NoPermission") == 0, "%s", err.kms_code);

  kmse_envelope* env = NULL;
  CHECK_STATUS(kmse_envelope_new(branch, "branch-key/from-context", &env, &err), KMSE_OK, &err);
  static uint8_t sealed[16384];
  uint8_t opened[64];
  size_t sealed_len = 0, opened_len = 0;
  CHECK_STATUS(kmse_envelope_seal(env, (const uint8_t*)"hello", 5, "{\"tenant\":\"b\"}", sealed,
                                  sizeof(sealed), &sealed_len, &err),
               KMSE_OK, &err);
  CHECK_STATUS(kmse_envelope_open(env, sealed, sealed_len, "{\"tenant\":\"b\"}", opened,
                                  sizeof(opened), &opened_len, &err),
               KMSE_OK, &err);
  CHECK(opened_len == 5 && memcmp(opened, "hello", 5) == 0, "envelope round trip");
  kmse_envelope_free(env);
  kmse_provider_free(branch);
  kmse_wipe(key, sizeof(key));
  kmse_wipe(again, sizeof(again));
  if (g_failures != 0) {
    fprintf(stderr, "%d checks failed\n", g_failures);
    return 1;
  }
  printf("PASS\n");
  return 0;
}
