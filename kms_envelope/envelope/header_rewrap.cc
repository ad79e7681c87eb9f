// Envelope::RewrapHeader (envelope.h): the same message under other CMKs, payload untouched.
#include <string>
#include <vector>

#include "kms_envelope/envelope/envelope.h"
#include "kms_envelope/envelope/envelope_internal.h"
#include "kms_envelope/envelope/message_keys.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace envelope {
namespace {

bool IsUnsupported(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnimplemented ||
         GetKmsErrorCode(s) == kms_code::kUnsupportedOperation;
}

}  // namespace

absl::StatusOr<std::string> Envelope::RewrapHeader(absl::Span<const uint8_t> sealed,
                                                   const EncryptionContext* expected_context,
                                                   size_t* old_header_size) const {
  if (options_.primary.provider == nullptr) {
    return KmsError(kms_code::kMissingParameter, "rewrap needs a primary key");
  }
  KMS_ASSIGN_OR_RETURN(const ParsedHeader parsed, ParseSealedHeader(sealed));
  KMS_ASSIGN_OR_RETURN(Unwrapped u, UnwrapHeader(parsed, sealed.first(parsed.body_size),
                                                 expected_context, "rewrap", true));
  MessageHeader header = parsed.header;
  KMS_RETURN_IF_ERROR(CheckContextForSeal(header.context));
  const WrappedKey& source = parsed.header.wrapped_keys[u.wrapped_index];
  header.wrapped_keys.clear();
  std::vector<const WrappingKey*> targets = {&options_.primary};
  for (const auto& k : options_.additional) targets.push_back(&k);
  // Audits one wrap call and, when it succeeded, adds its blob to the new header.
  auto record = [&](std::string_view kms_operation, KeyProvider& p, const WrappingKey& target,
                    auto& response) -> absl::Status {
    Audit("rewrap", kms_operation, p.provider_id(), response.ok() ? response->key_id : target.key_id,
          response.ok() ? std::string_view(response->key_version_id) : std::string_view(),
          response.ok() ? std::string_view(response->request_id) : std::string_view(), false,
          response.ok(), header.message_id);
    if (!response.ok()) return response.status();
    header.wrapped_keys.push_back(WrappedKey{std::string(p.provider_id()), response->key_id,
                                             response->key_version_id,
                                             std::move(response->ciphertext_blob)});
    return absl::OkStatus();
  };
  for (const WrappingKey* target : targets) {
    KeyProvider& p = *target->provider;
    if (&p == u.provider) {
      ReEncryptRequest rreq;
      rreq.ciphertext_blob = internal::Bytes(source.ciphertext_blob);
      rreq.source_encryption_context = &header.context;
      rreq.destination_key_id = target->key_id;
      rreq.destination_encryption_context = &header.context;
      absl::StatusOr<ReEncryptResponse> rr = p.ReEncrypt(rreq);
      if (rr.ok() || !IsUnsupported(rr.status())) {
        KMS_RETURN_IF_ERROR(record("ReEncrypt", p, *target, rr));
        continue;
      }
    }
    EncryptRequest ereq;
    ereq.key_id = target->key_id;
    ereq.plaintext = u.data_key.span();
    ereq.encryption_context = &header.context;
    absl::StatusOr<EncryptResponse> er = p.Encrypt(ereq);
    KMS_RETURN_IF_ERROR(record("Encrypt", p, *target, er));
  }
  u.data_key.Clear();
  KMS_RETURN_IF_ERROR(ValidateHeader(header));
  std::string out = SerializeHeaderBody(header);
  KMS_RETURN_IF_ERROR(ComputeHeaderTag(u.keys, internal::Bytes(out), absl::MakeSpan(header.header_tag)));
  out.append(reinterpret_cast<const char*>(header.header_tag.data()), kHeaderTagSize);
  if (old_header_size != nullptr) *old_header_size = parsed.header_size;
  return out;
}

}  // namespace envelope
}  // namespace kms_envelope
