/* A C consumer of the installed library: seals a message with a CMK of the local store through
 * the C ABI (kms_envelope/c/kms_envelope.h) and opens it again; a wrong context must fail.
 *
 *   cc -o seal seal.c $(pkg-config --cflags --libs kms_envelope)   # or CMake kms_envelope::c
 *   ./seal STORE_DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kms_envelope/c/kms_envelope.h"

static int fail(const char* what, const kmse_error* err) {
  fprintf(stderr, "%s: %s %s: %s\n", what, kmse_status_name(err->status), err->kms_code,
          err->message);
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s STORE_DIR\n", argv[0]);
    return 2;
  }
  kmse_error err;
  kmse_provider* kms = NULL;
  if (kmse_local_provider_open(argv[1], NULL, &kms, &err) != KMSE_OK) return fail("open", &err);
  char key_id[KMSE_ID_SIZE];
  size_t key_id_len = 0;
  if (kmse_local_create_key(kms, "C consumer", key_id, sizeof key_id, &key_id_len, &err) != KMSE_OK)
    return fail("create key", &err);
  kmse_envelope* env = NULL;
  if (kmse_envelope_new(kms, key_id, &env, &err) != KMSE_OK) return fail("envelope", &err);

  const char* msg = "hello from C";
  const char* ctx = "{\"app\":\"c-consumer\"}";
  size_t need = 0;
  kmse_envelope_seal(env, (const uint8_t*)msg, strlen(msg), ctx, NULL, 0, &need, &err);
  uint8_t* sealed = malloc(need);
  size_t sealed_len = 0;
  if (kmse_envelope_seal(env, (const uint8_t*)msg, strlen(msg), ctx, sealed, need, &sealed_len,
                         &err) != KMSE_OK)
    return fail("seal", &err);
  uint8_t opened[64];
  size_t opened_len = 0;
  if (kmse_envelope_open(env, sealed, sealed_len, ctx, opened, sizeof opened, &opened_len, &err) !=
      KMSE_OK)
    return fail("open", &err);
  if (opened_len != strlen(msg) || memcmp(opened, msg, opened_len) != 0) {
    fprintf(stderr, "opened bytes differ\n");
    return 1;
  }
  if (kmse_envelope_open(env, sealed, sealed_len, "{\"app\":\"other\"}", opened, sizeof opened,
                         &opened_len, &err) == KMSE_OK) {
    fprintf(stderr, "a wrong context opened the message\n");
    return 1;
  }
  free(sealed);
  kmse_envelope_free(env);
  kmse_provider_free(kms);
  printf("C API %d: sealed %zu bytes and opened them again; wrong context refused (%s)\n",
         kmse_api_version(), sealed_len, err.kms_code);
  return 0;
}
