// The C API over the C++ core. Every entry point is noexcept in effect: it runs its body inside
// Guard(), which turns any exception into KMSE_ERR_INTERNAL.
#include "kms_envelope/c/kms_envelope.h"

#include <sodium.h>

#include <chrono>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "kms_envelope/branch/branch_key_admin.h"
#include "kms_envelope/branch/branch_key_store_spec.h"
#include "kms_envelope/c/provider_factory.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/envelope/byte_stream.h"
#include "kms_envelope/envelope/envelope.h"
#include "kms_envelope/envelope/format.h"
#include "kms_envelope/envelope/header_json.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/key_provider.h"
#include "kms_envelope/kms_error.h"

struct kmse_provider {
  std::shared_ptr<kms_envelope::c_api::ProviderHandle> handle;
};

struct kmse_envelope {
  std::unique_ptr<kms_envelope::envelope::Envelope> envelope;
};

namespace {

using kms_envelope::DecryptRequest;
using kms_envelope::DecryptResponse;
using kms_envelope::EncryptionContext;
using kms_envelope::GenerateDataKeyRequest;
using kms_envelope::GenerateDataKeyResponse;
namespace kms_code = kms_envelope::kms_code;

void CopyTruncated(std::string_view text, char* out, size_t cap) {
  if (out == nullptr || cap == 0) return;
  const size_t n = text.size() < cap - 1 ? text.size() : cap - 1;
  std::memcpy(out, text.data(), n);
  out[n] = '\0';
}

kmse_status StatusFor(const absl::Status& status) {
  const std::string code = kms_envelope::GetKmsErrorCode(status);
  if (code == kms_code::kInvalidCiphertext) return KMSE_ERR_INVALID_CIPHERTEXT;
  if (code == kms_code::kKeyNotFound || code == kms_code::kAliasNotFound) return KMSE_ERR_NOT_FOUND;
  if (code == kms_code::kNoPermission || code == kms_code::kDisabled ||
      code == kms_code::kPendingDeletion) {
    return KMSE_ERR_PERMISSION_DENIED;
  }
  if (code == kms_code::kThrottling || code == kms_code::kRejectedThrottling ||
      code == kms_code::kServiceUnavailableTemporary || code == kms_code::kInternalFailure) {
    return KMSE_ERR_UNAVAILABLE;
  }
  if (code == kms_code::kUnsupportedOperation) return KMSE_ERR_UNSUPPORTED;
  if (code == kms_code::kInvalidParameter || code == kms_code::kMissingParameter) {
    return KMSE_ERR_INVALID_ARGUMENT;
  }
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return KMSE_OK;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return KMSE_ERR_INVALID_ARGUMENT;
    case absl::StatusCode::kNotFound:
      return KMSE_ERR_NOT_FOUND;
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kUnauthenticated:
      return KMSE_ERR_PERMISSION_DENIED;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kAborted:
      return KMSE_ERR_UNAVAILABLE;
    case absl::StatusCode::kDataLoss:
      return KMSE_ERR_IO;
    case absl::StatusCode::kUnimplemented:
      return KMSE_ERR_UNSUPPORTED;
    default:
      return KMSE_ERR_INTERNAL;
  }
}

kmse_status Fail(kmse_error* err, kmse_status status, std::string_view kms_code,
                 std::string_view message) {
  if (err != nullptr) {
    err->status = status;
    CopyTruncated(kms_code, err->kms_code, sizeof(err->kms_code));
    CopyTruncated(message, err->message, sizeof(err->message));
  }
  return status;
}

kmse_status Report(kmse_error* err, const absl::Status& status) {
  if (status.ok()) return Fail(err, KMSE_OK, "", "");
  return Fail(err, StatusFor(status), kms_envelope::GetKmsErrorCode(status),
              kms_envelope::internal::Sv(status.message()));
}

kmse_status Ok(kmse_error* err) { return Fail(err, KMSE_OK, "", ""); }

kmse_status InvalidArgument(kmse_error* err, std::string_view message) {
  return Fail(err, KMSE_ERR_INVALID_ARGUMENT, kms_code::kInvalidParameter, message);
}

kmse_status TooSmall(kmse_error* err, size_t required, size_t* len_out, std::string_view what) {
  if (len_out != nullptr) *len_out = required;
  return Fail(err, KMSE_ERR_BUFFER_TOO_SMALL, "",
              absl::StrCat(std::string(what), " buffer too small: ", required, " bytes needed"));
}

template <typename Body>
kmse_status Guard(kmse_error* err, Body&& body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return Fail(err, KMSE_ERR_INTERNAL, kms_code::kInternalFailure, "out of memory");
  } catch (const std::exception& e) {
    return Fail(err, KMSE_ERR_INTERNAL, kms_code::kInternalFailure, e.what());
  } catch (...) {
    return Fail(err, KMSE_ERR_INTERNAL, kms_code::kInternalFailure, "unknown exception");
  }
}

absl::StatusOr<EncryptionContext> ParseContext(const char* json) {
  if (json == nullptr) return EncryptionContext();
  return EncryptionContext::FromJson(json);
}

void FillInfo(kmse_key_info* info, std::string_view key_id, std::string_view version,
              std::string_view request_id) {
  if (info == nullptr) return;
  CopyTruncated(key_id, info->key_id, sizeof(info->key_id));
  CopyTruncated(version, info->key_version_id, sizeof(info->key_version_id));
  CopyTruncated(request_id, info->request_id, sizeof(info->request_id));
}

class CallbackSource : public kms_envelope::envelope::ByteSource {
 public:
  CallbackSource(kmse_read_fn fn, void* user) : fn_(fn), user_(user) {}
  absl::StatusOr<size_t> Read(absl::Span<uint8_t> out) override {
    const int64_t n = fn_(user_, out.data(), out.size());
    if (n < 0 || static_cast<uint64_t>(n) > out.size()) {
      return absl::DataLossError("the read callback reported an error");
    }
    return static_cast<size_t>(n);
  }

 private:
  kmse_read_fn fn_;
  void* user_;
};

class CallbackSink : public kms_envelope::envelope::ByteSink {
 public:
  CallbackSink(kmse_write_fn fn, void* user) : fn_(fn), user_(user) {}
  absl::Status Write(absl::Span<const uint8_t> data) override {
    if (data.empty()) return absl::OkStatus();
    if (fn_(user_, data.data(), data.size()) != 0) {
      return absl::DataLossError("the write callback reported an error");
    }
    return absl::OkStatus();
  }

 private:
  kmse_write_fn fn_;
  void* user_;
};

kmse_status WrapProvider(absl::StatusOr<std::shared_ptr<kms_envelope::c_api::ProviderHandle>> made,
                         kmse_provider** out, kmse_error* err) {
  if (!made.ok()) return Report(err, made.status());
  *out = new kmse_provider{std::move(made).value()};
  return Ok(err);
}

}  // namespace

extern "C" {

const char* kmse_status_name(kmse_status status) {
  switch (status) {
    case KMSE_OK: return "KMSE_OK";
    case KMSE_ERR_INVALID_ARGUMENT: return "KMSE_ERR_INVALID_ARGUMENT";
    case KMSE_ERR_BUFFER_TOO_SMALL: return "KMSE_ERR_BUFFER_TOO_SMALL";
    case KMSE_ERR_INVALID_CIPHERTEXT: return "KMSE_ERR_INVALID_CIPHERTEXT";
    case KMSE_ERR_NOT_FOUND: return "KMSE_ERR_NOT_FOUND";
    case KMSE_ERR_PERMISSION_DENIED: return "KMSE_ERR_PERMISSION_DENIED";
    case KMSE_ERR_UNAVAILABLE: return "KMSE_ERR_UNAVAILABLE";
    case KMSE_ERR_IO: return "KMSE_ERR_IO";
    case KMSE_ERR_UNSUPPORTED: return "KMSE_ERR_UNSUPPORTED";
    case KMSE_ERR_INTERNAL: return "KMSE_ERR_INTERNAL";
  }
  return "KMSE_ERR_UNKNOWN";
}

int kmse_api_version(void) { return KMSE_C_API_VERSION; }

void kmse_wipe(void* p, size_t len) {
  if (p != nullptr && len != 0) sodium_memzero(p, len);
}

kmse_status kmse_local_provider_open(const char* store_dir, const char* root_key_file,
                                     kmse_provider** out, kmse_error* err) {
  return Guard(err, [&] {
    if (store_dir == nullptr || out == nullptr) {
      return InvalidArgument(err, "store_dir and out are required");
    }
    *out = nullptr;
    return WrapProvider(kms_envelope::c_api::OpenLocalProvider(
                            store_dir, root_key_file != nullptr ? root_key_file : ""),
                        out, err);
  });
}

kmse_status kmse_local_create_key(kmse_provider* provider, const char* description, char* key_id,
                                  size_t key_id_cap, size_t* key_id_len, kmse_error* err) {
  return Guard(err, [&] {
    if (provider == nullptr) return InvalidArgument(err, "provider is NULL");
    // Checked before the key exists: a size query must not create a key it cannot name.
    if (key_id == nullptr || key_id_cap < KMSE_LOCAL_ID_CAP) {
      return TooSmall(err, KMSE_LOCAL_ID_CAP, key_id_len, "key_id");
    }
    absl::StatusOr<std::string> id =
        provider->handle->CreateKey(description != nullptr ? description : "");
    if (!id.ok()) return Report(err, id.status());
    if (key_id == nullptr || key_id_cap < id->size() + 1) {
      return TooSmall(err, id->size() + 1, key_id_len, "key_id");
    }
    CopyTruncated(*id, key_id, key_id_cap);
    if (key_id_len != nullptr) *key_id_len = id->size();
    return Ok(err);
  });
}

kmse_status kmse_local_rotate_key(kmse_provider* provider, const char* key_id, char* version_id,
                                  size_t version_id_cap, size_t* version_id_len,
                                  kmse_error* err) {
  return Guard(err, [&] {
    if (provider == nullptr || key_id == nullptr) {
      return InvalidArgument(err, "provider and key_id are required");
    }
    // Checked before rotating: a size query must not rotate.
    if (version_id != nullptr && version_id_cap < KMSE_LOCAL_ID_CAP) {
      return TooSmall(err, KMSE_LOCAL_ID_CAP, version_id_len, "version_id");
    }
    absl::StatusOr<std::string> version = provider->handle->RotateKey(key_id);
    if (!version.ok()) return Report(err, version.status());
    if (version_id != nullptr && version_id_cap < version->size() + 1) {
      // The rotation happened; only the id could not be returned.
      return TooSmall(err, version->size() + 1, version_id_len, "version_id");
    }
    CopyTruncated(*version, version_id, version_id_cap);
    if (version_id_len != nullptr) *version_id_len = version->size();
    return Ok(err);
  });
}

kmse_status kmse_local_create_alias(kmse_provider* provider, const char* alias_name,
                                    const char* key_id, kmse_error* err) {
  return Guard(err, [&] {
    if (provider == nullptr || alias_name == nullptr || key_id == nullptr) {
      return InvalidArgument(err, "provider, alias_name and key_id are required");
    }
    return Report(err, provider->handle->CreateAlias(alias_name, key_id));
  });
}

kmse_status kmse_remote_provider_open(const char* endpoint, const char* access_key_id,
                                      const char* access_key_secret, kmse_provider** out,
                                      kmse_error* err) {
  return Guard(err, [&] {
    if (endpoint == nullptr || out == nullptr) {
      return InvalidArgument(err, "endpoint and out are required");
    }
    if ((access_key_id == nullptr) != (access_key_secret == nullptr)) {
      return InvalidArgument(err, "give both access_key_id and access_key_secret, or neither");
    }
    *out = nullptr;
    return WrapProvider(
        kms_envelope::c_api::OpenRemoteProvider(endpoint,
                                                access_key_id != nullptr ? access_key_id : "",
                                                access_key_secret != nullptr ? access_key_secret : "",
                                                access_key_id == nullptr),
        out, err);
  });
}

void kmse_provider_free(kmse_provider* provider) {
  try {
    delete provider;
  } catch (...) {
  }
}

kmse_status kmse_generate_data_key(kmse_provider* provider, const char* key_id,
                                   size_t number_of_bytes, const char* context_json,
                                   uint8_t* plaintext, size_t plaintext_cap, size_t* plaintext_len,
                                   uint8_t* blob, size_t blob_cap, size_t* blob_len,
                                   kmse_key_info* info, kmse_error* err) {
  return Guard(err, [&] {
    if (provider == nullptr || key_id == nullptr) {
      return InvalidArgument(err, "provider and key_id are required");
    }
    const size_t size = number_of_bytes == 0 ? kms_envelope::kDefaultDataKeySize : number_of_bytes;
    if (size > kms_envelope::kMaxNumberOfBytes) {
      return InvalidArgument(err, "number_of_bytes must be 1..1024");
    }
    if (plaintext == nullptr || plaintext_cap < size) {
      return TooSmall(err, size, plaintext_len, "plaintext");
    }
    absl::StatusOr<EncryptionContext> context = ParseContext(context_json);
    if (!context.ok()) return Report(err, context.status());
    GenerateDataKeyRequest request;
    request.key_id = key_id;
    request.number_of_bytes = static_cast<int64_t>(size);
    request.encryption_context = &*context;
    GenerateDataKeyResponse response;
    absl::Status status = provider->handle->provider().GenerateDataKeyInto(request, &response);
    if (!status.ok()) return Report(err, status);
    if (blob == nullptr || blob_cap < response.ciphertext_blob.size()) {
      return TooSmall(err, response.ciphertext_blob.size(), blob_len, "blob");  // key discarded
    }
    std::memcpy(plaintext, response.plaintext.data(), response.plaintext.size());
    if (plaintext_len != nullptr) *plaintext_len = response.plaintext.size();
    std::memcpy(blob, response.ciphertext_blob.data(), response.ciphertext_blob.size());
    if (blob_len != nullptr) *blob_len = response.ciphertext_blob.size();
    FillInfo(info, response.key_id, response.key_version_id, response.request_id);
    return Ok(err);
  });
}

kmse_status kmse_decrypt(kmse_provider* provider, const uint8_t* blob, size_t blob_len,
                         const char* context_json, uint8_t* plaintext, size_t plaintext_cap,
                         size_t* plaintext_len, kmse_key_info* info, kmse_error* err) {
  return Guard(err, [&] {
    if (provider == nullptr || (blob == nullptr && blob_len != 0)) {
      return InvalidArgument(err, "provider and blob are required");
    }
    if (blob_len > kms_envelope::kMaxCiphertextBlobSize) {
      return Fail(err, KMSE_ERR_INVALID_CIPHERTEXT, kms_code::kInvalidCiphertext,
                  "CiphertextBlob is longer than any this library produces");
    }
    absl::StatusOr<EncryptionContext> context = ParseContext(context_json);
    if (!context.ok()) return Report(err, context.status());
    DecryptRequest request;
    request.ciphertext_blob = absl::Span<const uint8_t>(blob, blob_len);
    request.encryption_context = &*context;
    DecryptResponse response;
    absl::Status status = provider->handle->provider().DecryptInto(request, &response);
    if (!status.ok()) return Report(err, status);
    if (plaintext == nullptr || plaintext_cap < response.plaintext.size()) {
      return TooSmall(err, response.plaintext.size(), plaintext_len, "plaintext");
    }
    std::memcpy(plaintext, response.plaintext.data(), response.plaintext.size());
    if (plaintext_len != nullptr) *plaintext_len = response.plaintext.size();
    FillInfo(info, response.key_id, response.key_version_id, response.request_id);
    return Ok(err);
  });
}

kmse_status kmse_envelope_new(kmse_provider* provider, const char* key_id, kmse_envelope** out,
                              kmse_error* err) {
  return Guard(err, [&] {
    if (provider == nullptr || key_id == nullptr || out == nullptr) {
      return InvalidArgument(err, "provider, key_id and out are required");
    }
    *out = nullptr;
    kms_envelope::envelope::EnvelopeOptions options;
    // The envelope shares ownership of the provider: freeing the handle first is safe.
    std::shared_ptr<kms_envelope::c_api::ProviderHandle> handle = provider->handle;
    options.primary.provider = std::shared_ptr<kms_envelope::KeyProvider>(handle, &handle->provider());
    options.primary.key_id = key_id;
    auto envelope = kms_envelope::envelope::Envelope::New(std::move(options));
    if (!envelope.ok()) return Report(err, envelope.status());
    *out = new kmse_envelope{std::move(envelope).value()};
    return Ok(err);
  });
}

void kmse_envelope_free(kmse_envelope* envelope) {
  try {
    delete envelope;
  } catch (...) {
  }
}

kmse_status kmse_envelope_seal(const kmse_envelope* envelope, const uint8_t* plaintext,
                               size_t plaintext_len, const char* context_json, uint8_t* out,
                               size_t out_cap, size_t* out_len, kmse_error* err) {
  return Guard(err, [&] {
    if (envelope == nullptr || (plaintext == nullptr && plaintext_len != 0)) {
      return InvalidArgument(err, "envelope and plaintext are required");
    }
    absl::StatusOr<EncryptionContext> context = ParseContext(context_json);
    if (!context.ok()) return Report(err, context.status());
    const size_t required = envelope->envelope->SealedSize(plaintext_len, *context);
    if (out == nullptr || out_cap < required) return TooSmall(err, required, out_len, "sealed");
    absl::StatusOr<size_t> written = envelope->envelope->SealInto(
        absl::Span<const uint8_t>(plaintext, plaintext_len), *context,
        absl::Span<uint8_t>(out, out_cap));
    if (!written.ok()) return Report(err, written.status());
    if (out_len != nullptr) *out_len = *written;
    return Ok(err);
  });
}

kmse_status kmse_envelope_open(const kmse_envelope* envelope, const uint8_t* sealed,
                               size_t sealed_len, const char* context_json, uint8_t* out,
                               size_t out_cap, size_t* out_len, kmse_error* err) {
  return Guard(err, [&] {
    if (envelope == nullptr || (sealed == nullptr && sealed_len != 0)) {
      return InvalidArgument(err, "envelope and sealed are required");
    }
    const absl::Span<const uint8_t> input(sealed, sealed_len);
    absl::StatusOr<uint64_t> size = kms_envelope::envelope::Envelope::PlaintextSize(input);
    if (!size.ok()) return Report(err, size.status());
    if (*size > SIZE_MAX) return InvalidArgument(err, "message too large for this platform");
    if ((out == nullptr && *size != 0) || out_cap < *size) {
      return TooSmall(err, static_cast<size_t>(*size), out_len, "plaintext");
    }
    absl::StatusOr<EncryptionContext> context = ParseContext(context_json);
    if (!context.ok()) return Report(err, context.status());
    uint8_t empty = 0;
    absl::StatusOr<size_t> written = envelope->envelope->OpenInto(
        input, *context, absl::Span<uint8_t>(out != nullptr ? out : &empty, out_cap));
    if (!written.ok()) return Report(err, written.status());
    if (out_len != nullptr) *out_len = *written;
    return Ok(err);
  });
}

kmse_status kmse_envelope_seal_stream(const kmse_envelope* envelope, kmse_read_fn read,
                                      void* read_user, kmse_write_fn write, void* write_user,
                                      const char* context_json, uint64_t* plaintext_bytes,
                                      uint64_t* sealed_bytes, kmse_error* err) {
  return Guard(err, [&] {
    if (envelope == nullptr || read == nullptr || write == nullptr) {
      return InvalidArgument(err, "envelope, read and write are required");
    }
    absl::StatusOr<EncryptionContext> context = ParseContext(context_json);
    if (!context.ok()) return Report(err, context.status());
    CallbackSource source(read, read_user);
    CallbackSink sink(write, write_user);
    auto result = envelope->envelope->SealStream(source, sink, *context);
    if (!result.ok()) return Report(err, result.status());
    if (plaintext_bytes != nullptr) *plaintext_bytes = result->plaintext_size;
    if (sealed_bytes != nullptr) *sealed_bytes = result->sealed_size;
    return Ok(err);
  });
}

kmse_status kmse_envelope_open_stream(const kmse_envelope* envelope, kmse_read_fn read,
                                      void* read_user, kmse_write_fn write, void* write_user,
                                      const char* context_json, uint64_t* plaintext_bytes,
                                      kmse_error* err) {
  return Guard(err, [&] {
    if (envelope == nullptr || read == nullptr || write == nullptr) {
      return InvalidArgument(err, "envelope, read and write are required");
    }
    std::unique_ptr<EncryptionContext> expected;
    if (context_json != nullptr) {
      absl::StatusOr<EncryptionContext> context = ParseContext(context_json);
      if (!context.ok()) return Report(err, context.status());
      expected = std::make_unique<EncryptionContext>(std::move(context).value());
    }
    CallbackSource source(read, read_user);
    CallbackSink sink(write, write_user);
    auto result = envelope->envelope->OpenStream(source, sink, expected.get());
    if (!result.ok()) return Report(err, result.status());
    if (plaintext_bytes != nullptr) *plaintext_bytes = result->plaintext_size;
    return Ok(err);
  });
}

// ---- Branch keys ----

kmse_status kmse_branch_key_create(kmse_provider* kms, const char* store, const char* cmk_key_id,
                                   const char* branch_key_id, uint32_t* version, kmse_error* err) {
  return Guard(err, [&] {
    if (kms == nullptr || store == nullptr || cmk_key_id == nullptr || branch_key_id == nullptr) {
      return InvalidArgument(err, "kms, store, cmk_key_id and branch_key_id are required");
    }
    auto opened = kms_envelope::branch::OpenBranchKeyStore(store);
    if (!opened.ok()) return Report(err, opened.status());
    auto v = kms_envelope::branch::CreateBranchKey(kms->handle->provider(), cmk_key_id, **opened,
                                                   branch_key_id);
    if (!v.ok()) return Report(err, v.status());
    if (version != nullptr) *version = v->version;
    return Ok(err);
  });
}

kmse_status kmse_branch_key_rotate(kmse_provider* kms, const char* store, const char* cmk_key_id,
                                   const char* branch_key_id, uint32_t* version, kmse_error* err) {
  return Guard(err, [&] {
    if (kms == nullptr || store == nullptr || branch_key_id == nullptr) {
      return InvalidArgument(err, "kms, store and branch_key_id are required");
    }
    auto opened = kms_envelope::branch::OpenBranchKeyStore(store);
    if (!opened.ok()) return Report(err, opened.status());
    auto v = kms_envelope::branch::RotateBranchKey(
        kms->handle->provider(), cmk_key_id != nullptr ? cmk_key_id : "", **opened, branch_key_id);
    if (!v.ok()) return Report(err, v.status());
    if (version != nullptr) *version = v->version;
    return Ok(err);
  });
}

kmse_status kmse_branch_key_list(const char* store, const char* branch_key_id, uint32_t* versions,
                                 size_t cap, size_t* count, uint32_t* active, kmse_error* err) {
  return Guard(err, [&] {
    if (store == nullptr || branch_key_id == nullptr) {
      return InvalidArgument(err, "store and branch_key_id are required");
    }
    auto opened = kms_envelope::branch::OpenBranchKeyStore(store);
    if (!opened.ok()) return Report(err, opened.status());
    auto list = (*opened)->ListVersions(branch_key_id);
    if (!list.ok()) return Report(err, list.status());
    if (count != nullptr) *count = list->size();
    if (versions == nullptr || cap < list->size()) {
      return TooSmall(err, list->size(), count, "versions");
    }
    for (size_t i = 0; i < list->size(); ++i) {
      versions[i] = (*list)[i].version;
      if ((*list)[i].active && active != nullptr) *active = (*list)[i].version;
    }
    return Ok(err);
  });
}

kmse_status kmse_branch_provider_open(kmse_provider* kms, const char* store,
                                      const char* tenant_field, const char* tenant_prefix,
                                      uint32_t cache_ttl_ms, kmse_provider** out,
                                      kmse_error* err) {
  return Guard(err, [&] {
    if (kms == nullptr || store == nullptr || out == nullptr) {
      return InvalidArgument(err, "kms, store and out are required");
    }
    *out = nullptr;
    return WrapProvider(kms_envelope::c_api::OpenBranchProvider(
                            kms->handle, store, tenant_field != nullptr ? tenant_field : "",
                            tenant_prefix != nullptr ? tenant_prefix : "", cache_ttl_ms),
                        out, err);
  });
}

kmse_status kmse_instance_provider_open(const char* endpoint, const char* client_key_file,
                                        const char* password_file, const char* ca_file,
                                        kmse_provider** out, kmse_error* err) {
  return Guard(err, [&] {
    if (endpoint == nullptr || client_key_file == nullptr || password_file == nullptr ||
        out == nullptr) {
      return InvalidArgument(err, "endpoint, client_key_file, password_file and out are required");
    }
    *out = nullptr;
    return WrapProvider(kms_envelope::c_api::OpenInstanceProvider(
                            endpoint, client_key_file, password_file,
                            ca_file != nullptr ? ca_file : ""),
                        out, err);
  });
}

// ---- Data-key cache, inspect ----

kmse_status kmse_caching_provider_new(kmse_provider* inner, uint64_t max_age_ms,
                                      uint64_t max_messages, uint64_t max_bytes,
                                      kmse_provider** out, kmse_error* err) {
  return Guard(err, [&] {
    if (inner == nullptr || out == nullptr) return InvalidArgument(err, "inner and out are required");
    if (max_age_ms > uint64_t{1} << 40) return InvalidArgument(err, "max_age_ms is too large");
    kms_envelope::c_api::CacheSettings settings;
    settings.max_age = std::chrono::milliseconds(max_age_ms);
    settings.max_messages = max_messages;
    settings.max_bytes = max_bytes;
    return WrapProvider(kms_envelope::c_api::OpenCachingProvider(inner->handle, settings), out, err);
  });
}

kmse_status kmse_inspect(const uint8_t* data, size_t len, uint64_t sealed_size, char* json,
                         size_t json_cap, size_t* json_len, kmse_error* err) {
  return Guard(err, [&] {
    if (data == nullptr && len != 0) return InvalidArgument(err, "data is NULL");
    if (sealed_size == 0) sealed_size = len;
    if (sealed_size < len) return InvalidArgument(err, "sealed_size is smaller than len");
    auto parsed = kms_envelope::envelope::ParseHeader(absl::MakeConstSpan(data, len));
    if (!parsed.ok()) {
      if (parsed.status().code() != absl::StatusCode::kOutOfRange) {
        return Report(err, parsed.status());
      }
      return Fail(err, KMSE_ERR_INVALID_CIPHERTEXT, kms_code::kInvalidCiphertext,
                  "the header does not fit in the bytes given (truncated, or pass more)");
    }
    const std::string text = kms_envelope::envelope::HeaderJson(*parsed, sealed_size);
    if (json_len != nullptr) *json_len = text.size();
    if (json == nullptr || json_cap < text.size() + 1) {
      return TooSmall(err, text.size() + 1, json_len, "json");
    }
    std::memcpy(json, text.c_str(), text.size() + 1);
    return Ok(err);
  });
}

}  // extern "C"
