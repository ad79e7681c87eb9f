// The C API's data-key and envelope calls over the C++ core (providers are opened in
// providers.cc, branch keys administered in branch_keys.cc). Every entry point runs its body
// inside Guard(), which turns any exception into KMSE_ERR_INTERNAL.
#include "kms_envelope/c/kms_envelope.h"

#include <sodium.h>

#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kms_envelope/c/c_api_internal.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/envelope/byte_stream.h"
#include "kms_envelope/envelope/envelope.h"
#include "kms_envelope/envelope/format.h"
#include "kms_envelope/envelope/header_json.h"
#include "kms_envelope/key_provider.h"
#include "kms_envelope/kms_error.h"

namespace {

using namespace kms_envelope::c_api;  // the shared reporting helpers (c_api_internal.h)
using kms_envelope::DecryptRequest;
using kms_envelope::DecryptResponse;
using kms_envelope::EncryptionContext;
using kms_envelope::GenerateDataKeyRequest;
using kms_envelope::GenerateDataKeyResponse;
namespace kms_code = kms_envelope::kms_code;

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
    absl::Status status = provider->provider->GenerateDataKeyInto(request, &response);
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
    absl::Status status = provider->provider->DecryptInto(request, &response);
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
    options.primary.provider = provider->provider;
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
