/* kms_envelope C API: envelope encryption over KMS data keys, for C and FFI callers.
 *
 *   kmse_error err;
 *   kmse_provider* kms = NULL;
 *   if (kmse_local_provider_open("/var/lib/kms", NULL, &kms, &err) != KMSE_OK) {
 *     fprintf(stderr, "%s: %s\n", err.kms_code, err.message);
 *   }
 *   kmse_envelope* env = NULL;
 *   kmse_envelope_new(kms, "alias/backup", &env, &err);
 *   size_t need = 0;
 *   kmse_envelope_seal(env, msg, msg_len, "{\"tenant\":\"a\"}", NULL, 0, &need, &err);
 *   // -> KMSE_ERR_BUFFER_TOO_SMALL, need = required size
 *   uint8_t* sealed = malloc(need);
 *   kmse_envelope_seal(env, msg, msg_len, "{\"tenant\":\"a\"}", sealed, need, &need, &err);
 *   ...
 *   kmse_envelope_free(env);
 *   kmse_provider_free(kms);
 *
 * Contract:
 * - Plain C ABI: opaque handles, fixed-size structs, no C++ types, nothing thrown across the
 *   boundary (every entry point catches everything and reports KMSE_ERR_INTERNAL).
 * - Every call that can fail returns a kmse_status and, when `err` is non-NULL, fills it with
 *   the status, the KMS error code ("Forbidden.KeyNotFound", ... or "") and a NUL-terminated
 *   message (truncated to fit). Messages never contain key material.
 * - Output buffers are provided by the caller with their capacity. When a buffer is too small the
 *   call returns KMSE_ERR_BUFFER_TOO_SMALL and stores the required size in the matching
 *   *_len output; nothing else is written. Seal and Open check sizes before doing any work;
 *   GenerateDataKey checks the plaintext buffer first, but the blob size is only known after
 *   the KMS answered: the generated key is then discarded (wiped) and the caller retries.
 *   A NULL buffer with capacity 0 is a size query.
 * - Encryption contexts are JSON objects of string values ("{\"k\":\"v\"}"); NULL or "" means
 *   the empty context.
 * - Plaintext data keys written to caller buffers are the caller's to wipe (kmse_wipe). A failed
 *   call writes no plaintext (kmse_envelope_open zeroes what it may have touched).
 * - Handles are thread safe (calls on one handle may run concurrently), except that a handle
 *   must not be freed while a call on it runs. An envelope keeps its provider alive: freeing
 *   the provider handle first is allowed.
 */
#ifndef KMS_ENVELOPE_C_KMS_ENVELOPE_H_
#define KMS_ENVELOPE_C_KMS_ENVELOPE_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KMSE_C_API_VERSION 1

typedef enum kmse_status {
  KMSE_OK = 0,
  KMSE_ERR_INVALID_ARGUMENT = 1,   /* NULL handle, malformed JSON, out-of-range parameter */
  KMSE_ERR_BUFFER_TOO_SMALL = 2,   /* the *_len output holds the required size */
  KMSE_ERR_INVALID_CIPHERTEXT = 3, /* malformed, or failed authentication */
  KMSE_ERR_NOT_FOUND = 4,          /* CMK, alias or key version unknown to the provider */
  KMSE_ERR_PERMISSION_DENIED = 5,  /* CMK disabled / pending deletion / not allowed */
  KMSE_ERR_UNAVAILABLE = 6,        /* retryable: throttling, service unavailable, timeout */
  KMSE_ERR_IO = 7,                 /* a stream callback or file operation failed */
  KMSE_ERR_UNSUPPORTED = 8,        /* the provider cannot do this */
  KMSE_ERR_INTERNAL = 9
} kmse_status;

#define KMSE_ERROR_CODE_SIZE 64
#define KMSE_ERROR_MESSAGE_SIZE 512
#define KMSE_ID_SIZE 128

typedef struct kmse_error {
  kmse_status status;
  char kms_code[KMSE_ERROR_CODE_SIZE];   /* KMS error code, "" when none */
  char message[KMSE_ERROR_MESSAGE_SIZE]; /* human-readable, NUL-terminated */
} kmse_error;

/* Identifiers returned with a data key (NUL-terminated, truncated to fit). */
typedef struct kmse_key_info {
  char key_id[KMSE_ID_SIZE];         /* the CMK GUID */
  char key_version_id[KMSE_ID_SIZE]; /* the CMK version that wrapped / unwrapped the key */
  char request_id[KMSE_ID_SIZE];
} kmse_key_info;

typedef struct kmse_provider kmse_provider;
typedef struct kmse_envelope kmse_envelope;

/* "KMSE_OK", "KMSE_ERR_NOT_FOUND", ... (static storage). */
const char* kmse_status_name(kmse_status status);
int kmse_api_version(void);
/* Overwrites `len` bytes at `p` with zeros in a way the compiler cannot remove. */
void kmse_wipe(void* p, size_t len);

/* ---- Providers ---- */

/* The local CMK store in `store_dir` (created when missing), its root key in
 * `root_key_file` (NULL = the store's default location). */
kmse_status kmse_local_provider_open(const char* store_dir, const char* root_key_file,
                                     kmse_provider** out, kmse_error* err);
/* Local store administration (KMSE_ERR_UNSUPPORTED on other providers). Key and version ids of
 * the local store are UUIDs: `key_id` / `version_id` need KMSE_LOCAL_ID_CAP bytes, checked
 * before anything changes (a smaller buffer gets KMSE_ERR_BUFFER_TOO_SMALL and creates or
 * rotates nothing). `version_id` may be NULL when the caller does not want the new id. */
#define KMSE_LOCAL_ID_CAP 37
kmse_status kmse_local_create_key(kmse_provider* provider, const char* description,
                                  char* key_id, size_t key_id_cap, size_t* key_id_len,
                                  kmse_error* err);
kmse_status kmse_local_rotate_key(kmse_provider* provider, const char* key_id,
                                  char* version_id, size_t version_id_cap,
                                  size_t* version_id_len, kmse_error* err);
kmse_status kmse_local_create_alias(kmse_provider* provider, const char* alias_name,
                                    const char* key_id, kmse_error* err);

/* The remote KMS (Alibaba Cloud KMS RPC API) at `endpoint` (URL or region id), with the
 * credentials given, or from the environment (ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET /
 * ALIBABA_CLOUD_SECURITY_TOKEN) when `access_key_id` is NULL. */
kmse_status kmse_remote_provider_open(const char* endpoint, const char* access_key_id,
                                      const char* access_key_secret, kmse_provider** out,
                                      kmse_error* err);

void kmse_provider_free(kmse_provider* provider);

/* ---- Data keys (KMS GenerateDataKey / Decrypt) ---- */

/* A fresh data key of `number_of_bytes` bytes (0 = 32) under `key_id` (GUID or alias/<name>). */
kmse_status kmse_generate_data_key(kmse_provider* provider, const char* key_id,
                                   size_t number_of_bytes, const char* context_json,
                                   uint8_t* plaintext, size_t plaintext_cap, size_t* plaintext_len,
                                   uint8_t* blob, size_t blob_cap, size_t* blob_len,
                                   kmse_key_info* info, kmse_error* err);

/* Unwraps a CiphertextBlob (the same context as when it was made is required). */
kmse_status kmse_decrypt(kmse_provider* provider, const uint8_t* blob, size_t blob_len,
                         const char* context_json, uint8_t* plaintext, size_t plaintext_cap,
                         size_t* plaintext_len, kmse_key_info* info, kmse_error* err);

/* ---- Envelope: seal / open in memory ---- */

/* An envelope that seals under `key_id` of `provider` and opens what that provider can unwrap. */
kmse_status kmse_envelope_new(kmse_provider* provider, const char* key_id, kmse_envelope** out,
                              kmse_error* err);
void kmse_envelope_free(kmse_envelope* envelope);

kmse_status kmse_envelope_seal(const kmse_envelope* envelope, const uint8_t* plaintext,
                               size_t plaintext_len, const char* context_json, uint8_t* out,
                               size_t out_cap, size_t* out_len, kmse_error* err);
/* The sealed message's context must equal `context_json`. */
kmse_status kmse_envelope_open(const kmse_envelope* envelope, const uint8_t* sealed,
                               size_t sealed_len, const char* context_json, uint8_t* out,
                               size_t out_cap, size_t* out_len, kmse_error* err);

/* ---- Envelope: streaming (constant memory) ---- */

/* Reads up to `cap` bytes into `buf`: returns the count, 0 at end of input, < 0 on error. */
typedef int64_t (*kmse_read_fn)(void* user, uint8_t* buf, size_t cap);
/* Writes all `len` bytes: returns 0 on success, non-zero on error. */
typedef int (*kmse_write_fn)(void* user, const uint8_t* buf, size_t len);

kmse_status kmse_envelope_seal_stream(const kmse_envelope* envelope, kmse_read_fn read,
                                      void* read_user, kmse_write_fn write, void* write_user,
                                      const char* context_json, uint64_t* plaintext_bytes,
                                      uint64_t* sealed_bytes, kmse_error* err);
/* `context_json` NULL accepts the message's own context. Only verified frames are written; on
 * failure the sink may hold a verified prefix: write to a temporary file and discard it. */
kmse_status kmse_envelope_open_stream(const kmse_envelope* envelope, kmse_read_fn read,
                                      void* read_user, kmse_write_fn write, void* write_user,
                                      const char* context_json, uint64_t* plaintext_bytes,
                                      kmse_error* err);

/* ---- Branch keys (docs/branch-keys.md) ----
 * `store` names the branch key store: "file:<directory>" or "postgresql:<libpq connection
 * string>". `kms` is the provider whose CMK wraps the branch keys (any provider handle). */

/* Creates `branch_key_id` (version 1, active) wrapped under `cmk_key_id`; *version = 1. */
kmse_status kmse_branch_key_create(kmse_provider* kms, const char* store, const char* cmk_key_id,
                                   const char* branch_key_id, uint32_t* version, kmse_error* err);
/* Adds a new active version (cmk_key_id NULL = the active version's CMK); *version = it. */
kmse_status kmse_branch_key_rotate(kmse_provider* kms, const char* store, const char* cmk_key_id,
                                   const char* branch_key_id, uint32_t* version, kmse_error* err);
/* The version numbers of `branch_key_id`, oldest first, into versions[0..cap); *count = how many
 * there are (KMSE_ERR_BUFFER_TOO_SMALL when cap < *count); *active = the active one. */
kmse_status kmse_branch_key_list(const char* store, const char* branch_key_id, uint32_t* versions,
                                 size_t cap, size_t* count, uint32_t* active, kmse_error* err);
/* A provider whose data keys are wrapped under branch keys (no KMS call per data key). With
 * `tenant_field` NULL the request's key_id names the branch key; otherwise the branch key is
 * `tenant_prefix` (NULL = "") + context[tenant_field], key_id must be NULL/"",
 * "branch-key/from-context" or that id, and Decrypt refuses another tenant's blob.
 * `cache_ttl_ms` 0 = 5 minutes. The new provider keeps `kms` alive. */
kmse_status kmse_branch_provider_open(kmse_provider* kms, const char* store,
                                      const char* tenant_field, const char* tenant_prefix,
                                      uint32_t cache_ttl_ms, kmse_provider** out, kmse_error* err);
/* ---- Data-key cache ---- */

/* A provider that reuses data keys of `inner` within limits and remembers unwrapped keys
 * (docs/cache.md): a data key serves at most `max_messages` messages and `max_bytes` bytes and
 * lives at most `max_age_ms` milliseconds; unwrapped keys live at most `max_age_ms` too. Zero
 * limits are refused. `inner` stays usable and may be freed first (the cache keeps it alive). */
kmse_status kmse_caching_provider_new(kmse_provider* inner, uint64_t max_age_ms,
                                      uint64_t max_messages, uint64_t max_bytes,
                                      kmse_provider** out, kmse_error* err);

/* ---- Inspect ---- */

/* The header of a sealed message as JSON (the fields of `kms-envelope inspect`), without any
 * decryption: nothing in it is authenticated. `data` holds the message's first `len` bytes (at
 * least the whole header: KMSE_ERR_INVALID_CIPHERTEXT names a header that does not fit);
 * `sealed_size` is the whole message's size (0 = `len`). The JSON is NUL-terminated and
 * `json_len` excludes the NUL; on KMSE_ERR_BUFFER_TOO_SMALL it holds the capacity needed. */
kmse_status kmse_inspect(const uint8_t* data, size_t len, uint64_t sealed_size, char* json,
                         size_t json_cap, size_t* json_len, kmse_error* err);

/* A KMS 3.0 instance gateway (docs/kms-instance.md): `endpoint`
 * "https://<instance-id>.cryptoservice.kms.aliyuncs.com" (or `kms-envelope serve --instance-api`),
 * the ClientKey JSON file and its password file, and the instance CA (PEM; NULL = the system
 * store). All but `ca_file` are required. */
kmse_status kmse_instance_provider_open(const char* endpoint, const char* client_key_file,
                                        const char* password_file, const char* ca_file,
                                        kmse_provider** out, kmse_error* err);

/* ---- One provider configuration (docs/configuration.md) ----
 * The same options as the `kms-envelope` global flags and the KMS_ENVELOPE_* environment
 * variables, by name: "home", "root-key-file", "passphrase-file" (local store); "kms-endpoint",
 * "signature-version" ("1" or "3"), "credentials-file" (remote KMS; credentials otherwise from
 * ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET / _SECURITY_TOKEN); "kms-instance-endpoint",
 * "client-key-file", "client-key-password-file" (KMS 3.0 instance); "ca-file" (remote or
 * instance); "branch-key-store", "branch-tenant-field", "branch-tenant-prefix",
 * "branch-cache-ttl-ms" (branch keys over that provider); "cache-max-age-ms",
 * "cache-max-messages", "cache-max-bytes", "cache-capacity" (a data-key cache over everything,
 * on when any is given). Numbers are unsigned decimal text. */

/* The provider the `count` pairs names[i] = values[i] describe; with `use_environment`
 * non-zero the KMS_ENVELOPE_* variables fill in the options the pairs do not give (the
 * variable of "kms-endpoint" is KMS_ENVELOPE_KMS_ENDPOINT). KMSE_ERR_INVALID_ARGUMENT, naming
 * the option, for an unknown name, an empty or malformed value, a name given twice, an unknown
 * KMS_ENVELOPE_* variable (those that configure something else excepted, docs/configuration.md),
 * or an option the chosen provider does not use (a "ca-file" for the local store, ...). The
 * local store administration calls work on the result when its base is the local store. */
kmse_status kmse_provider_open_config(const char* const* names, const char* const* values,
                                      size_t count, int use_environment, kmse_provider** out,
                                      kmse_error* err);
/* The name of provider option `index` (0-based), NULL past the last (static storage). */
const char* kmse_provider_option_name(size_t index);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KMS_ENVELOPE_C_KMS_ENVELOPE_H_ */
