/* The C API, used from C: a real local key store under $TEST_TMPDIR, every function, its error
 * codes and its buffer-size protocol. A small harness: each CHECK that fails prints where and
 * why, and main() exits non-zero if any did. */
#define _GNU_SOURCE /* memmem */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kms_envelope/c/kms_envelope.h"
#include "tests/c/c_check.h"
#include "tests/c/test_kms_server.h"

static char g_dir[1024];

static const char* TempDir(const char* name) {
  const char* base = getenv("TEST_TMPDIR");
  snprintf(g_dir, sizeof(g_dir), "%s/%s", base != NULL ? base : "/tmp", name);
  return g_dir;
}

static int AllZero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != 0) return 0;
  }
  return 1;
}

/* ---- memory streams for the streaming API ---- */
typedef struct {
  const uint8_t* data;
  size_t size;
  size_t pos;
  size_t max_chunk; /* returns at most this many bytes per call (exercises partial reads) */
  int fail_at;      /* < 0: never; else fail on the call with this index */
  int calls;
} MemReader;

static int64_t MemRead(void* user, uint8_t* buf, size_t cap) {
  MemReader* r = (MemReader*)user;
  if (r->fail_at >= 0 && r->calls++ == r->fail_at) return -1;
  size_t n = r->size - r->pos;
  if (n > cap) n = cap;
  if (n > r->max_chunk) n = r->max_chunk;
  memcpy(buf, r->data + r->pos, n);
  r->pos += n;
  return (int64_t)n;
}

typedef struct {
  uint8_t* data;
  size_t size;
  size_t cap;
} MemWriter;

static int MemWrite(void* user, const uint8_t* buf, size_t len) {
  MemWriter* w = (MemWriter*)user;
  if (w->size + len > w->cap) {
    size_t cap = w->cap == 0 ? 4096 : w->cap;
    while (cap < w->size + len) cap *= 2;
    uint8_t* grown = (uint8_t*)realloc(w->data, cap);
    if (grown == NULL) return 1;
    w->data = grown;
    w->cap = cap;
  }
  memcpy(w->data + w->size, buf, len);
  w->size += len;
  return 0;
}

static int FailingWrite(void* user, const uint8_t* buf, size_t len) {
  (void)user;
  (void)buf;
  (void)len;
  return 7;
}

/* ---- tests ---- */

static void TestStatusNamesAndVersion(void) {
  CHECK(kmse_api_version() == KMSE_C_API_VERSION, "api version");
  CHECK(strcmp(kmse_status_name(KMSE_OK), "KMSE_OK") == 0, "name of OK");
  CHECK(strcmp(kmse_status_name(KMSE_ERR_BUFFER_TOO_SMALL), "KMSE_ERR_BUFFER_TOO_SMALL") == 0,
        "name of BUFFER_TOO_SMALL");
  uint8_t secret[16];
  memset(secret, 0xAB, sizeof(secret));
  kmse_wipe(secret, sizeof(secret));
  CHECK(AllZero(secret, sizeof(secret)), "kmse_wipe zeroes");
}

static void TestArgumentErrors(void) {
  kmse_error err;
  kmse_provider* p = NULL;
  CHECK_STATUS(kmse_local_provider_open(NULL, NULL, &p, &err), KMSE_ERR_INVALID_ARGUMENT, &err);
  CHECK(err.status == KMSE_ERR_INVALID_ARGUMENT, "err.status filled");
  CHECK(strlen(err.message) > 0, "a message");
  uint8_t key[32];
  size_t len = 0;
  CHECK_STATUS(kmse_generate_data_key(NULL, "k", 32, NULL, key, 32, &len, key, 32, &len, NULL,
                                      &err),
               KMSE_ERR_INVALID_ARGUMENT, &err);
  CHECK_STATUS(kmse_envelope_seal(NULL, key, 1, NULL, key, 32, &len, &err),
               KMSE_ERR_INVALID_ARGUMENT, &err);
  /* err may be NULL. */
  CHECK(kmse_decrypt(NULL, key, 1, NULL, key, 32, &len, NULL, NULL) == KMSE_ERR_INVALID_ARGUMENT,
        "NULL err accepted");
  kmse_provider_free(NULL);
  kmse_envelope_free(NULL);
}

static void TestDataKeys(kmse_provider* kms, const char* key_id) {
  kmse_error err;
  const char* ctx = "{\"tenant\":\"a\",\"purpose\":\"c-test\"}";
  size_t pt_len = 0, blob_len = 0;

  /* Size query: no buffers. */
  CHECK_STATUS(kmse_generate_data_key(kms, key_id, 32, ctx, NULL, 0, &pt_len, NULL, 0, &blob_len,
                                      NULL, &err),
               KMSE_ERR_BUFFER_TOO_SMALL, &err);
  CHECK(pt_len == 32, "required plaintext size %zu", pt_len);

  /* A too-small blob buffer: the key is discarded and the blob size reported. */
  uint8_t key[64];
  uint8_t tiny_blob[8];
  memset(key, 0, sizeof(key));
  CHECK_STATUS(kmse_generate_data_key(kms, key_id, 32, ctx, key, sizeof(key), &pt_len, tiny_blob,
                                      sizeof(tiny_blob), &blob_len, NULL, &err),
               KMSE_ERR_BUFFER_TOO_SMALL, &err);
  CHECK(blob_len > sizeof(tiny_blob) && blob_len < 8192, "required blob size %zu", blob_len);
  CHECK(AllZero(key, sizeof(key)), "no key written when the blob does not fit");

  uint8_t blob[1024];
  kmse_key_info info;
  CHECK_STATUS(kmse_generate_data_key(kms, key_id, 32, ctx, key, sizeof(key), &pt_len, blob,
                                      sizeof(blob), &blob_len, &info, &err),
               KMSE_OK, &err);
  CHECK(pt_len == 32, "32-byte key, got %zu", pt_len);
  CHECK(strcmp(info.key_id, key_id) == 0, "info.key_id %s", info.key_id);
  CHECK(strlen(info.key_version_id) > 0, "a key version id");
  CHECK(!AllZero(key, 32), "a non-zero key");

  /* NumberOfBytes: 16 gives 16; 0 means the default (32). */
  uint8_t key16[16];
  CHECK_STATUS(kmse_generate_data_key(kms, key_id, 16, ctx, key16, sizeof(key16), &pt_len,
                                      blob + 512, 512, &blob_len, NULL, &err),
               KMSE_OK, &err);
  CHECK(pt_len == 16, "16-byte key, got %zu", pt_len);
  CHECK_STATUS(kmse_generate_data_key(kms, key_id, 0, ctx, key, sizeof(key), &pt_len, blob + 512,
                                      512, &blob_len, NULL, &err),
               KMSE_OK, &err);
  CHECK(pt_len == 32, "default key size, got %zu", pt_len);
  kmse_wipe(key16, sizeof(key16));
  CHECK_STATUS(kmse_generate_data_key(kms, key_id, 1025, ctx, key, sizeof(key), &pt_len, blob,
                                      sizeof(blob), &blob_len, NULL, &err),
               KMSE_ERR_INVALID_ARGUMENT, &err);

  /* Regenerate for the decrypt checks (blob_len was overwritten above). */
  CHECK_STATUS(kmse_generate_data_key(kms, key_id, 32, ctx, key, sizeof(key), &pt_len, blob,
                                      sizeof(blob), &blob_len, &info, &err),
               KMSE_OK, &err);

  uint8_t again[64];
  size_t again_len = 0;
  CHECK_STATUS(kmse_decrypt(kms, blob, blob_len, ctx, NULL, 0, &again_len, NULL, &err),
               KMSE_ERR_BUFFER_TOO_SMALL, &err);
  CHECK(again_len == 32, "required size from decrypt %zu", again_len);
  kmse_key_info dinfo;
  CHECK_STATUS(kmse_decrypt(kms, blob, blob_len, ctx, again, sizeof(again), &again_len, &dinfo,
                            &err),
               KMSE_OK, &err);
  CHECK(again_len == 32 && memcmp(again, key, 32) == 0, "decrypt returns the same key");
  CHECK(strcmp(dinfo.key_version_id, info.key_version_id) == 0, "same version");

  /* Same pairs in another order: the same context. */
  CHECK_STATUS(kmse_decrypt(kms, blob, blob_len, "{\"purpose\":\"c-test\",\"tenant\":\"a\"}", again,
                            sizeof(again), &again_len, NULL, &err),
               KMSE_OK, &err);
  /* Another context. */
  CHECK_STATUS(kmse_decrypt(kms, blob, blob_len, "{\"tenant\":\"b\"}", again, sizeof(again),
                            &again_len, NULL, &err),
               KMSE_ERR_INVALID_CIPHERTEXT, &err);
  CHECK(strcmp(err.kms_code, "InvalidCiphertext") == 0, "kms code %s", err.kms_code);
  /* A flipped blob byte. */
  blob[blob_len - 1] ^= 1;
  CHECK_STATUS(kmse_decrypt(kms, blob, blob_len, ctx, again, sizeof(again), &again_len, NULL, &err),
               KMSE_ERR_INVALID_CIPHERTEXT, &err);
  blob[blob_len - 1] ^= 1;
  /* Malformed context JSON. */
  CHECK_STATUS(kmse_decrypt(kms, blob, blob_len, "{\"tenant\":", again, sizeof(again), &again_len,
                            NULL, &err),
               KMSE_ERR_INVALID_ARGUMENT, &err);
  /* An unknown CMK. */
  CHECK_STATUS(kmse_generate_data_key(kms, "00000000-0000-0000-0000-000000000000", 32, NULL, key,
                                      sizeof(key), &pt_len, blob, sizeof(blob), &blob_len, NULL,
                                      &err),
               KMSE_ERR_NOT_FOUND, &err);
  CHECK(strncmp(err.kms_code, "Forbidden.", 10) == 0, "kms code %s", err.kms_code);
  kmse_wipe(key, sizeof(key));
  kmse_wipe(again, sizeof(again));
}

static void TestRotation(kmse_provider* kms, const char* key_id) {
  kmse_error err;
  uint8_t key[32], blob[1024], again[32];
  size_t pt_len = 0, blob_len = 0, again_len = 0;
  kmse_key_info before, after;
  CHECK_STATUS(kmse_generate_data_key(kms, key_id, 32, NULL, key, sizeof(key), &pt_len, blob,
                                      sizeof(blob), &blob_len, &before, &err),
               KMSE_OK, &err);
  char version[KMSE_ID_SIZE];
  size_t version_len = 0;
  CHECK_STATUS(kmse_local_rotate_key(kms, key_id, version, sizeof(version), &version_len, &err),
               KMSE_OK, &err);
  CHECK(version_len > 0 && strcmp(version, before.key_version_id) != 0, "a new version %s",
        version);
  /* Old blobs still open; new keys are wrapped by the new version. */
  CHECK_STATUS(kmse_decrypt(kms, blob, blob_len, NULL, again, sizeof(again), &again_len, NULL, &err),
               KMSE_OK, &err);
  CHECK(memcmp(again, key, 32) == 0, "old blob opens after rotation");
  CHECK_STATUS(kmse_generate_data_key(kms, key_id, 32, NULL, key, sizeof(key), &pt_len, blob,
                                      sizeof(blob), &blob_len, &after, &err),
               KMSE_OK, &err);
  CHECK(strcmp(after.key_version_id, version) == 0, "new keys use the new version");
  kmse_wipe(key, sizeof(key));
  kmse_wipe(again, sizeof(again));
}

static void TestEnvelopeInMemory(kmse_provider* kms, const char* alias) {
  kmse_error err;
  kmse_envelope* env = NULL;
  CHECK_STATUS(kmse_envelope_new(kms, alias, &env, &err), KMSE_OK, &err);
  if (env == NULL) return;
  const char* ctx = "{\"file\":\"report.pdf\"}";
  const char* message = "attack at dawn, bring snacks";
  const size_t message_len = strlen(message);

  size_t need = 0;
  CHECK_STATUS(kmse_envelope_seal(env, (const uint8_t*)message, message_len, ctx, NULL, 0, &need,
                                  &err),
               KMSE_ERR_BUFFER_TOO_SMALL, &err);
  CHECK(need > message_len, "sealed size bound %zu", need);
  uint8_t* sealed = (uint8_t*)malloc(need);
  size_t sealed_len = 0;
  CHECK_STATUS(kmse_envelope_seal(env, (const uint8_t*)message, message_len, ctx, sealed, need,
                                  &sealed_len, &err),
               KMSE_OK, &err);
  CHECK(sealed_len > message_len && sealed_len <= need, "sealed length %zu", sealed_len);
  CHECK(memmem(sealed, sealed_len, "attack", 6) == NULL, "no plaintext in the sealed message");

  size_t plain_need = 0;
  CHECK_STATUS(kmse_envelope_open(env, sealed, sealed_len, ctx, NULL, 0, &plain_need, &err),
               KMSE_ERR_BUFFER_TOO_SMALL, &err);
  CHECK(plain_need == message_len, "plaintext size %zu", plain_need);
  uint8_t plain[128];
  size_t plain_len = 0;
  CHECK_STATUS(kmse_envelope_open(env, sealed, sealed_len, ctx, plain, sizeof(plain), &plain_len,
                                  &err),
               KMSE_OK, &err);
  CHECK(plain_len == message_len && memcmp(plain, message, message_len) == 0, "round trip");

  /* Wrong context, flipped byte: refused, output zeroed. */
  memset(plain, 0x55, sizeof(plain));
  CHECK_STATUS(kmse_envelope_open(env, sealed, sealed_len, "{\"file\":\"other\"}", plain,
                                  sizeof(plain), &plain_len, &err),
               KMSE_ERR_INVALID_CIPHERTEXT, &err);
  sealed[sealed_len - 3] ^= 0x10;
  memset(plain, 0x55, sizeof(plain));
  CHECK_STATUS(kmse_envelope_open(env, sealed, sealed_len, ctx, plain, sizeof(plain), &plain_len,
                                  &err),
               KMSE_ERR_INVALID_CIPHERTEXT, &err);
  CHECK(AllZero(plain, message_len), "no plaintext released on failure");
  sealed[sealed_len - 3] ^= 0x10;
  /* Garbage is not a message. */
  CHECK(kmse_envelope_open(env, (const uint8_t*)"nonsense", 8, ctx, plain, sizeof(plain),
                           &plain_len, &err) != KMSE_OK,
        "garbage refused");

  /* The empty message. */
  uint8_t empty_sealed[16384]; /* above SealedSize(0): blobs are bounded at 8 KiB */
  size_t empty_len = 0;
  CHECK_STATUS(kmse_envelope_seal(env, NULL, 0, NULL, empty_sealed, sizeof(empty_sealed),
                                  &empty_len, &err),
               KMSE_OK, &err);
  CHECK_STATUS(kmse_envelope_open(env, empty_sealed, empty_len, NULL, NULL, 0, &plain_len, &err),
               KMSE_OK, &err);
  CHECK(plain_len == 0, "empty round trip");
  free(sealed);
  kmse_envelope_free(env);
}

static void TestEnvelopeStreaming(kmse_provider* kms, const char* key_id) {
  kmse_error err;
  kmse_envelope* env = NULL;
  CHECK_STATUS(kmse_envelope_new(kms, key_id, &env, &err), KMSE_OK, &err);
  if (env == NULL) return;
  const size_t size = 1000 * 1000 + 17; /* several frames plus a partial one */
  uint8_t* input = (uint8_t*)malloc(size);
  for (size_t i = 0; i < size; ++i) input[i] = (uint8_t)((i * 131 + 7) % 251);

  MemReader reader = {input, size, 0, 10000, -1, 0};
  MemWriter sealed = {NULL, 0, 0};
  uint64_t plain_bytes = 0, sealed_bytes = 0;
  CHECK_STATUS(kmse_envelope_seal_stream(env, MemRead, &reader, MemWrite, &sealed,
                                         "{\"stream\":\"yes\"}", &plain_bytes, &sealed_bytes,
                                         &err),
               KMSE_OK, &err);
  CHECK(plain_bytes == size && sealed_bytes == sealed.size, "stream sizes %llu %llu",
        (unsigned long long)plain_bytes, (unsigned long long)sealed_bytes);

  MemReader sealed_reader = {sealed.data, sealed.size, 0, 777, -1, 0};
  MemWriter opened = {NULL, 0, 0};
  CHECK_STATUS(kmse_envelope_open_stream(env, MemRead, &sealed_reader, MemWrite, &opened,
                                         "{\"stream\":\"yes\"}", &plain_bytes, &err),
               KMSE_OK, &err);
  CHECK(opened.size == size && memcmp(opened.data, input, size) == 0, "stream round trip");

  /* NULL context accepts the message's own; a different one is refused. */
  sealed_reader.pos = 0;
  opened.size = 0;
  CHECK_STATUS(kmse_envelope_open_stream(env, MemRead, &sealed_reader, MemWrite, &opened, NULL,
                                         &plain_bytes, &err),
               KMSE_OK, &err);
  sealed_reader.pos = 0;
  opened.size = 0;
  CHECK(kmse_envelope_open_stream(env, MemRead, &sealed_reader, MemWrite, &opened,
                                  "{\"stream\":\"no\"}", &plain_bytes, &err) != KMSE_OK,
        "other context refused");

  /* A truncated stream is refused. */
  MemReader truncated = {sealed.data, sealed.size - 100, 0, 4096, -1, 0};
  opened.size = 0;
  CHECK_STATUS(kmse_envelope_open_stream(env, MemRead, &truncated, MemWrite, &opened, NULL,
                                         &plain_bytes, &err),
               KMSE_ERR_INVALID_CIPHERTEXT, &err);

  /* Callback failures surface as KMSE_ERR_IO. */
  MemReader failing = {input, size, 0, 10000, 3, 0};
  MemWriter sink = {NULL, 0, 0};
  CHECK_STATUS(kmse_envelope_seal_stream(env, MemRead, &failing, MemWrite, &sink, NULL, NULL, NULL,
                                         &err),
               KMSE_ERR_IO, &err);
  reader.pos = 0;
  CHECK_STATUS(kmse_envelope_seal_stream(env, MemRead, &reader, FailingWrite, NULL, NULL, NULL,
                                         NULL, &err),
               KMSE_ERR_IO, &err);
  free(input);
  free(sealed.data);
  free(opened.data);
  free(sink.data);
  kmse_envelope_free(env);
}

static void TestEnvelopeOutlivesItsProviderHandle(const char* dir, const char* key_id) {
  kmse_error err;
  kmse_provider* kms = NULL;
  CHECK_STATUS(kmse_local_provider_open(dir, NULL, &kms, &err), KMSE_OK, &err);
  if (kms == NULL) return;
  kmse_envelope* env = NULL;
  CHECK_STATUS(kmse_envelope_new(kms, key_id, &env, &err), KMSE_OK, &err);
  kmse_provider_free(kms);
  static uint8_t sealed[16384];
  uint8_t plain[16];
  size_t sealed_len = 0, plain_len = 0;
  CHECK_STATUS(kmse_envelope_seal(env, (const uint8_t*)"still here", 10, NULL, sealed,
                                  sizeof(sealed), &sealed_len, &err),
               KMSE_OK, &err);
  CHECK_STATUS(kmse_envelope_open(env, sealed, sealed_len, NULL, plain, sizeof(plain), &plain_len,
                                  &err),
               KMSE_OK, &err);
  CHECK(plain_len == 10 && memcmp(plain, "still here", 10) == 0, "works after provider free");
  kmse_envelope_free(env);
}

static void TestRemoteProvider(void) {
  kmse_error err;
  kmse_provider* remote = NULL;
  CHECK_STATUS(kmse_remote_provider_open("http://127.0.0.1:1", "id", NULL, &remote, &err),
               KMSE_ERR_INVALID_ARGUMENT, &err);
  kmse_status s = kmse_remote_provider_open("http://127.0.0.1:1", "id", "secret", &remote, &err);
  if (s == KMSE_OK) {
    /* Nothing listens on port 1: after its retries the request fails as retryable
     * (KMSE_ERR_UNAVAILABLE), not as a crash or a permanent error. */
    uint8_t key[32], blob[512];
    size_t n = 0, m = 0;
    kmse_status g = kmse_generate_data_key(remote, "alias/x", 32, NULL, key, sizeof(key), &n, blob,
                                           sizeof(blob), &m, NULL, &err);
    CHECK(g == KMSE_ERR_UNAVAILABLE, "unreachable KMS: %s (%s)", kmse_status_name(g),
          err.message);
    char id[KMSE_LOCAL_ID_CAP];
    CHECK_STATUS(kmse_local_create_key(remote, NULL, id, sizeof(id), NULL, &err),
                 KMSE_ERR_UNSUPPORTED, &err);
    kmse_provider_free(remote);
  } else {
    CHECK(0, "remote provider: %s (%s)", kmse_status_name(s), err.message);
  }
  /* Credentials from the environment: none set in the test, so a clear error. */
  unsetenv("ALIBABA_CLOUD_ACCESS_KEY_ID");
  CHECK(kmse_remote_provider_open("cn-hangzhou", NULL, NULL, &remote, &err) != KMSE_OK,
        "no credentials in the environment");
  CHECK(strlen(err.message) > 0, "a message");
}

static void TestRemoteProviderOnLoopback(void) {
  test_kms_server* server = NULL;
  int port = 0;
  char key_id[KMSE_ID_SIZE];
  int rc = test_kms_server_start(TempDir("c-api-remote-store"), &server, &port, key_id,
                                 sizeof(key_id));
  CHECK(rc == 0, "test server did not start (%d)", rc);
  if (rc != 0) return;
  char endpoint[64];
  snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", port);
  kmse_error err;
  kmse_provider* remote = NULL;
  CHECK_STATUS(kmse_remote_provider_open(endpoint, "c-app", "c-app-secret", &remote, &err),
               KMSE_OK, &err);
  if (remote != NULL) {
    uint8_t key[32], again[32], blob[1024];
    size_t key_len = 0, again_len = 0, blob_len = 0;
    kmse_key_info info;
    CHECK_STATUS(kmse_generate_data_key(remote, key_id, 32, "{\"via\":\"http\"}", key,
                                        sizeof(key), &key_len, blob, sizeof(blob), &blob_len,
                                        &info, &err),
                 KMSE_OK, &err);
    CHECK(strcmp(info.key_id, key_id) == 0 && strlen(info.request_id) > 0, "remote key info");
    CHECK_STATUS(kmse_decrypt(remote, blob, blob_len, "{\"via\":\"http\"}", again,
                              sizeof(again), &again_len, NULL, &err),
                 KMSE_OK, &err);
    CHECK(again_len == 32 && memcmp(again, key, 32) == 0, "remote decrypt returns the key");
    CHECK_STATUS(kmse_decrypt(remote, blob, blob_len, NULL, again, sizeof(again), &again_len,
                              NULL, &err),
                 KMSE_ERR_INVALID_CIPHERTEXT, &err);
    kmse_envelope* env = NULL;
    CHECK_STATUS(kmse_envelope_new(remote, key_id, &env, &err), KMSE_OK, &err);
    static uint8_t sealed[16384];
    uint8_t plain[64];
    size_t sealed_len = 0, plain_len = 0;
    CHECK_STATUS(kmse_envelope_seal(env, (const uint8_t*)"over the wire", 13, NULL, sealed,
                                    sizeof(sealed), &sealed_len, &err),
                 KMSE_OK, &err);
    CHECK_STATUS(kmse_envelope_open(env, sealed, sealed_len, NULL, plain, sizeof(plain),
                                    &plain_len, &err),
                 KMSE_OK, &err);
    CHECK(plain_len == 13 && memcmp(plain, "over the wire", 13) == 0, "remote envelope");
    kmse_envelope_free(env);
    kmse_provider_free(remote);
    kmse_wipe(key, sizeof(key));
    kmse_wipe(again, sizeof(again));
  }
  /* A wrong secret: the server refuses the signature. */
  kmse_provider* impostor = NULL;
  CHECK_STATUS(kmse_remote_provider_open(endpoint, "c-app", "wrong", &impostor, &err), KMSE_OK,
               &err);
  if (impostor != NULL) {
    uint8_t key[32], blob[1024];
    size_t key_len = 0, blob_len = 0;
    kmse_status s = kmse_generate_data_key(impostor, key_id, 32, NULL, key, sizeof(key), &key_len,
                                           blob, sizeof(blob), &blob_len, NULL, &err);
    CHECK(s == KMSE_ERR_PERMISSION_DENIED, "bad signature: %s", kmse_status_name(s));
    CHECK(strcmp(err.kms_code, "SignatureDoesNotMatch") == 0, "kms code %s", err.kms_code);
    kmse_provider_free(impostor);
  }
  test_kms_server_stop(server);
}

int main(void) {
  TestStatusNamesAndVersion();
  TestArgumentErrors();

  const char* dir = TempDir("c-api-store");
  char store_dir[1024];
  snprintf(store_dir, sizeof(store_dir), "%s", dir);
  kmse_error err;
  kmse_provider* kms = NULL;
  CHECK_STATUS(kmse_local_provider_open(store_dir, NULL, &kms, &err), KMSE_OK, &err);
  if (kms == NULL) {
    fprintf(stderr, "cannot open the local store; %d failure(s)\n", g_failures);
    return 1;
  }
  char key_id[KMSE_ID_SIZE];
  size_t key_id_len = 0;
  CHECK_STATUS(kmse_local_create_key(kms, "c api test", NULL, 0, &key_id_len, &err),
               KMSE_ERR_BUFFER_TOO_SMALL, &err);
  CHECK_STATUS(kmse_local_create_key(kms, "c api test", key_id, sizeof(key_id), &key_id_len, &err),
               KMSE_OK, &err);
  CHECK(key_id_len == strlen(key_id) && key_id_len > 0, "key id %s", key_id);
  CHECK_STATUS(kmse_local_create_alias(kms, "alias/c-test", key_id, &err), KMSE_OK, &err);
  CHECK(kmse_local_create_alias(kms, "alias/c-test", key_id, &err) != KMSE_OK,
        "a second alias with the same name is refused");

  TestDataKeys(kms, key_id);
  TestRotation(kms, key_id);
  TestEnvelopeInMemory(kms, "alias/c-test");
  TestEnvelopeStreaming(kms, key_id);
  kmse_provider_free(kms);
  TestEnvelopeOutlivesItsProviderHandle(store_dir, key_id);
  TestRemoteProvider();
  TestRemoteProviderOnLoopback();

  printf("%d checks, %d failure(s)\n", g_checks, g_failures);
  return g_failures == 0 ? 0 : 1;
}
