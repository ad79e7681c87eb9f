/* The C API's remote provider as a command, for the SDK conformance suite (suite.js):
 *   c_datakey generate ENDPOINT KEY_ID NUMBER_OF_BYTES CONTEXT_JSON
 *   c_datakey decrypt  ENDPOINT BLOB_HEX CONTEXT_JSON
 * Credentials come from ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET. Binary data travels as lowercase
 * hex so that the caller needs no base64 in C. Prints one JSON object on stdout; on failure
 * {"Status":"KMSE_...","Code":"<kms code>"} and exit status 1. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kms_envelope/c/kms_envelope.h"

enum { kMaxKey = 1024, kMaxBlob = 8192 };

static void PrintHex(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) printf("%02x", p[i]);
}

static int FromHex(const char* hex, uint8_t* out, size_t cap, size_t* len) {
  size_t n = strlen(hex);
  if (n % 2 != 0 || n / 2 > cap) return 0;
  for (size_t i = 0; i < n / 2; ++i) {
    unsigned int byte;
    if (sscanf(hex + 2 * i, "%2x", &byte) != 1) return 0;
    out[i] = (uint8_t)byte;
  }
  *len = n / 2;
  return 1;
}

static int Fail(kmse_status status, const kmse_error* err) {
  printf("{\"Status\":\"%s\",\"Code\":\"%s\"}\n", kmse_status_name(status), err->kms_code);
  fprintf(stderr, "c_datakey: %s\n", err->message);
  return 1;
}

static void PrintInfo(const kmse_key_info* info) {
  printf("\"KeyId\":\"%s\",\"KeyVersionId\":\"%s\",\"RequestId\":\"%s\"", info->key_id,
         info->key_version_id, info->request_id);
}

int main(int argc, char** argv) {
  int generate = argc == 6 && strcmp(argv[1], "generate") == 0;
  int decrypt = argc == 5 && strcmp(argv[1], "decrypt") == 0;
  if (!generate && !decrypt) {
    fprintf(stderr, "usage: c_datakey generate ENDPOINT KEY_ID N CONTEXT | decrypt ENDPOINT HEX CONTEXT\n");
    return 2;
  }
  kmse_error err;
  kmse_provider* kms = NULL;
  kmse_status s = kmse_remote_provider_open(argv[2], NULL, NULL, &kms, &err);
  if (s != KMSE_OK) return Fail(s, &err);
  static uint8_t key[kMaxKey];
  static uint8_t blob[kMaxBlob];
  size_t key_len = 0, blob_len = 0;
  kmse_key_info info;
  if (generate) {
    s = kmse_generate_data_key(kms, argv[3], (size_t)strtoul(argv[4], NULL, 10), argv[5], key,
                               sizeof(key), &key_len, blob, sizeof(blob), &blob_len, &info, &err);
  } else if (!FromHex(argv[3], blob, sizeof(blob), &blob_len)) {
    fprintf(stderr, "c_datakey: BLOB_HEX is not hex of at most %d bytes\n", kMaxBlob);
    kmse_provider_free(kms);
    return 2;
  } else {
    s = kmse_decrypt(kms, blob, blob_len, argv[4], key, sizeof(key), &key_len, &info, &err);
  }
  kmse_provider_free(kms);
  if (s != KMSE_OK) return Fail(s, &err);
  printf("{\"Plaintext\":\"");
  PrintHex(key, key_len);
  kmse_wipe(key, sizeof(key));
  if (generate) {
    printf("\",\"CiphertextBlob\":\"");
    PrintHex(blob, blob_len);
  }
  printf("\",");
  PrintInfo(&info);
  printf("}\n");
  return 0;
}
