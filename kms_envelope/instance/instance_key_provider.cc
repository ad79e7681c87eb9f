#include "kms_envelope/instance/instance_key_provider.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "kms_envelope/instance/instance_api.pb.h"
#include "kms_envelope/instance/wiped_message.h"
#include "kms_envelope/instance/instance_transport.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/kms_api/http_client.h"
#include "kms_envelope/kms_api/key_id.h"
#include "kms_envelope/kms_api/wiped_string.h"

namespace kms_envelope {
namespace instance {
namespace {

using kms_api::WipedString;

std::string AadOf(const EncryptionContext* ctx) {
  if (ctx == nullptr || ctx->empty()) return std::string();
  absl::Span<const uint8_t> c = ctx->Canonical();
  return std::string(reinterpret_cast<const char*>(c.data()), c.size());
}

absl::Status CheckKeyId(std::string_view got, std::string_view requested, std::string* out) {
  if (got.empty() || got.size() > kMaxIdSize) return kms_api::MalformedResponse("KeyId is empty or too long");
  if (!requested.empty() && !kms_api::IsAlias(requested) && got != requested) {
    return kms_api::MalformedResponse("KeyId differs from the requested key");
  }
  out->assign(got.data(), got.size());
  return absl::OkStatus();
}

absl::Status CopyId(std::string_view got, const char* name, std::string* out) {
  if (got.empty() || got.size() > kMaxIdSize) {
    return kms_api::MalformedResponse(absl::StrCat(name, " is empty or too long"));
  }
  out->assign(got.data(), got.size());
  return absl::OkStatus();
}

absl::Status CopyBlob(std::string_view got, std::string* out) {
  if (got.empty() || got.size() > kMaxCiphertextBlobSize) {
    return kms_api::MalformedResponse("CiphertextBlob is empty or longer than 8 KiB");
  }
  out->assign(got.data(), got.size());
  return absl::OkStatus();
}

absl::Status CopyPlaintext(std::string_view got, size_t max, std::optional<size_t> exact,
                           SecretBytes* out) {
  if (got.empty() || got.size() > max) return kms_api::MalformedResponse("Plaintext is empty or too long");
  if (exact.has_value() && got.size() != *exact) {
    return kms_api::MalformedResponse("Plaintext length differs from the requested data key size");
  }
  KMS_ASSIGN_OR_RETURN(*out, SecretBytes::CopyFrom(absl::MakeConstSpan(
                                 reinterpret_cast<const uint8_t*>(got.data()), got.size())));
  return absl::OkStatus();
}

}  // namespace

struct InstanceKeyProvider::Impl {
  InstanceKeyProviderOptions options;
  ClientKey key;
  std::unique_ptr<InstanceTransport> transport;

  // The retry loop around one call; OK with the 2xx body.
  absl::StatusOr<WipedString> Invoke(std::string_view api_name, std::string_view body,
                                     std::atomic<uint64_t>* attempts);
  // AdvanceGenerateDataKey with the response parsed and checked; the caller wipes Plaintext.
  absl::Status GenerateDataKey(const GenerateDataKeyRequest& request, size_t size,
                               std::atomic<uint64_t>* attempts,
                               api::AdvanceGenerateDataKeyResponse* out);
};

absl::StatusOr<WipedString> InstanceKeyProvider::Impl::Invoke(std::string_view api_name,
                                                              std::string_view body,
                                                              std::atomic<uint64_t>* attempts) {
  const kms_api::RetryPolicy& policy = options.retry;
  const absl::Time deadline = options.clock.now() + policy.overall_deadline;
  absl::Status last;
  for (int attempt = 0;; ++attempt) {
    absl::Duration left = deadline - options.clock.now();
    if (left <= absl::ZeroDuration()) {
      return last.ok() ? absl::DeadlineExceededError("KMS instance call deadline passed") : last;
    }
    absl::Duration timeout = std::min(policy.per_attempt_timeout, left);
    attempts->fetch_add(1, std::memory_order_relaxed);
    InstanceTransport::Result r =
        transport->Exchange(api_name, body, key, options.clock.now(), timeout);
    if (r.status.ok()) return std::move(r.body);
    last = r.status;
    if (!r.retryable || attempt + 1 >= policy.max_attempts) return last;
    absl::Duration wait = policy.Backoff(attempt, options.clock.jitter());
    if (options.clock.now() + wait >= deadline) return last;
    options.clock.sleep(wait);
  }
}

absl::Status InstanceKeyProvider::Impl::GenerateDataKey(const GenerateDataKeyRequest& request,
                                                        size_t size,
                                                        std::atomic<uint64_t>* attempts,
                                                        api::AdvanceGenerateDataKeyResponse* out) {
  if (request.key_id.empty()) return KmsError(kms_code::kMissingParameter, "KeyId is required");
  api::AdvanceGenerateDataKeyRequest req;
  req.set_keyid(std::string(request.key_id));
  req.set_numberofbytes(static_cast<int32_t>(size));
  req.set_aad(AadOf(request.encryption_context));
  KMS_ASSIGN_OR_RETURN(WipedString body,
                       Invoke("AdvanceGenerateDataKey", SerializeWiped(req), attempts));
  if (!out->ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    WipePlaintext(out);
    return kms_api::MalformedResponse("AdvanceGenerateDataKeyResponse does not parse");
  }
  return absl::OkStatus();
}

InstanceKeyProvider::InstanceKeyProvider(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
InstanceKeyProvider::~InstanceKeyProvider() = default;

absl::StatusOr<std::unique_ptr<InstanceKeyProvider>> InstanceKeyProvider::New(
    InstanceKeyProviderOptions options, ClientKey client_key) {
  if (options.retry.max_attempts < 1) {
    return KmsError(kms_code::kInvalidParameter, "retry.max_attempts must be at least 1");
  }
  if (!options.clock.now || !options.clock.sleep || !options.clock.jitter) {
    return KmsError(kms_code::kInvalidParameter, "clock needs now, sleep and jitter");
  }
  InstanceTransportOptions t;
  t.endpoint = options.endpoint;
  t.ca_file = options.ca_file;
  t.connect_timeout = options.connect_timeout;
  t.max_idle_handles = options.max_idle_handles;
  t.max_response_size = kMaxInstanceResponseSize;
  KMS_ASSIGN_OR_RETURN(std::unique_ptr<InstanceTransport> transport,
                       InstanceTransport::New(std::move(t)));
  auto impl = std::unique_ptr<Impl>(
      new Impl{std::move(options), std::move(client_key), std::move(transport)});
  return std::unique_ptr<InstanceKeyProvider>(new InstanceKeyProvider(std::move(impl)));
}

absl::Status InstanceKeyProvider::GenerateDataKeyInto(const GenerateDataKeyRequest& request,
                                                      GenerateDataKeyResponse* response) {
  KMS_ASSIGN_OR_RETURN(size_t size,
                       ResolveDataKeySize(request.key_spec, request.number_of_bytes));
  api::AdvanceGenerateDataKeyResponse r;
  absl::Status s = impl_->GenerateDataKey(request, size, &attempts_, &r);
  if (s.ok()) s = CheckKeyId(r.keyid(), request.key_id, &response->key_id);
  if (s.ok()) s = CopyId(r.keyversionid(), "KeyVersionId", &response->key_version_id);
  if (s.ok()) s = CopyBlob(r.ciphertextblob(), &response->ciphertext_blob);
  if (s.ok()) s = CopyPlaintext(r.plaintext(), kMaxNumberOfBytes, size, &response->plaintext);
  WipePlaintext(&r);
  if (!s.ok()) return s;
  response->request_id = r.requestid().substr(0, kMaxIdSize);
  response->from_cache = false;
  return absl::OkStatus();
}

absl::StatusOr<GenerateDataKeyWithoutPlaintextResponse>
InstanceKeyProvider::GenerateDataKeyWithoutPlaintext(const GenerateDataKeyRequest& request) {
  KMS_ASSIGN_OR_RETURN(size_t size,
                       ResolveDataKeySize(request.key_spec, request.number_of_bytes));
  api::AdvanceGenerateDataKeyResponse r;
  absl::Status s = impl_->GenerateDataKey(request, size, &attempts_, &r);
  WipePlaintext(&r);  // the API always returns one; nobody reads it
  GenerateDataKeyWithoutPlaintextResponse out;
  if (s.ok()) s = CheckKeyId(r.keyid(), request.key_id, &out.key_id);
  if (s.ok()) s = CopyId(r.keyversionid(), "KeyVersionId", &out.key_version_id);
  if (s.ok()) s = CopyBlob(r.ciphertextblob(), &out.ciphertext_blob);
  if (!s.ok()) return s;
  out.request_id = r.requestid().substr(0, kMaxIdSize);
  return out;
}

absl::Status InstanceKeyProvider::DecryptInto(const DecryptRequest& request,
                                              DecryptResponse* response) {
  if (request.ciphertext_blob.empty() || request.ciphertext_blob.size() > kMaxCiphertextBlobSize) {
    return KmsError(kms_code::kInvalidCiphertext, "CiphertextBlob is empty or too long");
  }
  api::AdvanceDecryptRequest req;
  req.set_ciphertextblob(std::string(internal::Chars(request.ciphertext_blob)));
  req.set_aad(AadOf(request.encryption_context));
  KMS_ASSIGN_OR_RETURN(WipedString body, impl_->Invoke("AdvanceDecrypt", SerializeWiped(req), &attempts_));
  api::AdvanceDecryptResponse r;
  absl::Status s = r.ParseFromArray(body.data(), static_cast<int>(body.size()))
                       ? absl::OkStatus()
                       : kms_api::MalformedResponse("AdvanceDecryptResponse does not parse");
  if (s.ok()) s = CheckKeyId(r.keyid(), "", &response->key_id);
  if (s.ok()) s = CopyId(r.keyversionid(), "KeyVersionId", &response->key_version_id);
  if (s.ok()) {
    s = CopyPlaintext(r.plaintext(), kMaxEncryptPlaintextSize, std::nullopt, &response->plaintext);
  }
  WipePlaintext(&r);
  if (!s.ok()) return s;
  response->request_id = r.requestid().substr(0, kMaxIdSize);
  response->from_cache = false;
  return absl::OkStatus();
}

absl::StatusOr<EncryptResponse> InstanceKeyProvider::Encrypt(const EncryptRequest& request) {
  if (request.key_id.empty()) return KmsError(kms_code::kMissingParameter, "KeyId is required");
  if (request.plaintext.empty() || request.plaintext.size() > kMaxEncryptPlaintextSize) {
    return KmsError(kms_code::kInvalidParameter, "Plaintext must be 1 byte to 6 KiB");
  }
  api::AdvanceEncryptRequest req;
  req.set_keyid(std::string(request.key_id));
  req.mutable_plaintext()->assign(reinterpret_cast<const char*>(request.plaintext.data()),
                                  request.plaintext.size());
  req.set_aad(AadOf(request.encryption_context));
  WipedString request_body = SerializeWiped(req);
  WipePlaintext(&req);
  KMS_ASSIGN_OR_RETURN(WipedString body, impl_->Invoke("AdvanceEncrypt", request_body, &attempts_));
  api::AdvanceEncryptResponse r;
  if (!r.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return kms_api::MalformedResponse("AdvanceEncryptResponse does not parse");
  }
  EncryptResponse out;
  KMS_RETURN_IF_ERROR(CheckKeyId(r.keyid(), request.key_id, &out.key_id));
  KMS_RETURN_IF_ERROR(CopyId(r.keyversionid(), "KeyVersionId", &out.key_version_id));
  KMS_RETURN_IF_ERROR(CopyBlob(r.ciphertextblob(), &out.ciphertext_blob));
  out.request_id = r.requestid().substr(0, kMaxIdSize);
  return out;
}

absl::StatusOr<ReEncryptResponse> InstanceKeyProvider::ReEncrypt(const ReEncryptRequest& request) {
  if (request.destination_key_id.empty()) {
    return KmsError(kms_code::kMissingParameter, "DestinationKeyId is required");
  }
  DecryptRequest dreq;
  dreq.ciphertext_blob = request.ciphertext_blob;
  dreq.encryption_context = request.source_encryption_context;
  KMS_ASSIGN_OR_RETURN(DecryptResponse source, Decrypt(dreq));  // plaintext wiped on return
  EncryptRequest ereq;
  ereq.key_id = request.destination_key_id;
  ereq.plaintext = source.plaintext.span();
  ereq.encryption_context = request.destination_encryption_context;
  KMS_ASSIGN_OR_RETURN(EncryptResponse dest, Encrypt(ereq));
  ReEncryptResponse out;
  out.key_id = std::move(dest.key_id);
  out.key_version_id = std::move(dest.key_version_id);
  out.source_key_id = std::move(source.key_id);
  out.source_key_version_id = std::move(source.key_version_id);
  out.ciphertext_blob = std::move(dest.ciphertext_blob);
  out.request_id = std::move(dest.request_id);
  return out;
}

}  // namespace instance
}  // namespace kms_envelope
