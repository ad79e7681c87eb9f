// Random (version 4) UUIDs for the OpenAPI protocol: the client's SignatureNonce and the
// server's RequestId.
//
//   std::string nonce = NewUuidV4(UuidCase::kLower);       // "1b4e28ba-2fa1-41d2-883f-0016d3cca427"
//   std::string request_id = NewUuidV4(UuidCase::kUpper);  // "1B4E28BA-2FA1-41D2-883F-0016D3CCA427"
//
// Contract: 122 random bits from the CSPRNG (internal::FillRandom), RFC 4122 version and variant
// bits set, 36 characters. Thread safe.
#ifndef KMS_ENVELOPE_REMOTE_UUID_H_
#define KMS_ENVELOPE_REMOTE_UUID_H_

#include <string>

namespace kms_envelope {
namespace remote {

enum class UuidCase { kLower, kUpper };

std::string NewUuidV4(UuidCase hex_case);

}  // namespace remote
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_REMOTE_UUID_H_
