// Protobuf messages of the instance API that may carry a plaintext (AdvanceEncrypt's request,
// AdvanceDecrypt's and AdvanceGenerateDataKey's responses): serialized into wiped buffers, and
// their Plaintext field wiped in place before the message is freed. Shared by the client
// (InstanceKeyProvider) and the gateway handler (serve --instance-api).
#ifndef KMS_ENVELOPE_INSTANCE_WIPED_MESSAGE_H_
#define KMS_ENVELOPE_INSTANCE_WIPED_MESSAGE_H_

#include "kms_envelope/kms_api/wiped_string.h"

namespace kms_envelope {
namespace instance {

// The protobuf encoding of `m` in a wiped buffer.
template <typename Message>
kms_api::WipedString SerializeWiped(const Message& m) {
  kms_api::WipedString out;
  out.resize(m.ByteSizeLong());
  m.SerializeToArray(out.data(), static_cast<int>(out.size()));
  return out;
}

// Wipes the message's Plaintext field (its whole buffer) in place.
template <typename Message>
void WipePlaintext(Message* m) {
  kms_api::WipeString(m->mutable_plaintext());
}

}  // namespace instance
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_INSTANCE_WIPED_MESSAGE_H_
