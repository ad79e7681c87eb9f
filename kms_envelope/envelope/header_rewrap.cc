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
        Audit("rewrap", "ReEncrypt", p.provider_id(), rr.ok() ? rr->key_id : target->key_id,
              rr.ok() ? std::string_view(rr->key_version_id) : std::string_view(),
              rr.ok() ? std::string_view(rr->request_id) : std::string_view(), false, rr.ok(),
              header.message_id);
        if (!rr.ok()) return rr.status();
        header.wrapped_keys.push_back(WrappedKey{std::string(p.provider_id()), rr->key_id,
                                                 rr->key_version_id,
                                                 std::move(rr->ciphertext_blob)});
        continue;
      }
    }
    EncryptRequest ereq;
    ereq.key_id = target->key_id;
    ereq.plaintext = u.data_key.span();
    ereq.encryption_context = &header.context;
    absl::StatusOr<EncryptResponse> er = p.Encrypt(ereq);
    Audit("rewrap", "Encrypt", p.provider_id(), er.ok() ? er->key_id : target->key_id,
          er.ok() ? std::string_view(er->key_version_id) : std::string_view(),
          er.ok() ? std::string_view(er->request_id) : std::string_view(), false, er.ok(),
          header.message_id);
    if (!er.ok()) return er.status();
    header.wrapped_keys.push_back(WrappedKey{std::string(p.provider_id()), er->key_id,
                                             er->key_version_id, std::move(er->ciphertext_blob)});
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
