// Query parameters of the Alibaba Cloud OpenAPI (RPC style): how a client encodes them into a
// query string or form body, how the server decodes them, and the canonical order both sides
// sign.
//
//   std::vector<QueryParam> params = {{"Action", "Decrypt"}, {"CiphertextBlob", blob_b64}};
//   WipedString query = CanonicalQuery(params);  // "Action=Decrypt&CiphertextBlob=..."
//   KMS_ASSIGN_OR_RETURN(WipedString value, PercentDecode("a%20b", /*plus_is_space=*/false));
//
// Contract:
// - PercentEncode is RFC 3986 with uppercase hex: only A-Z a-z 0-9 - _ . ~ are kept, so a space
//   becomes %20, `*` %2A, `~` stays (Alibaba's rule; not form encoding).
// - CanonicalQuery sorts by encoded name (byte order); V1 and V3 sign exactly that string.
// - Values may carry key material, so they and everything built from them are WipedString.
// - Thread safe (pure functions).
#ifndef KMS_ENVELOPE_KMS_API_QUERY_PARAMS_H_
#define KMS_ENVELOPE_KMS_API_QUERY_PARAMS_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "kms_envelope/kms_api/wiped_string.h"

namespace kms_envelope {
namespace kms_api {

// Parameter values may carry key material (Encrypt's Plaintext), so they and every string the
// signer builds from them live in WipedString.
using QueryParam = std::pair<std::string, WipedString>;

// RFC 3986 percent-encoding with uppercase hex (see the contract above).
std::string PercentEncode(std::string_view s);
// Appends PercentEncode(s) to *out (lets callers build into a pre-reserved, wiped buffer).
void AppendPercentEncoded(std::string_view s, WipedString* out);
void AppendPercentEncoded(std::string_view s, std::string* out);
// Decodes %XX escapes (either case); `plus_is_space` for form bodies. InvalidArgument for a
// malformed escape.
[[nodiscard]] absl::StatusOr<WipedString> PercentDecode(std::string_view s, bool plus_is_space);

// `enc(k)=enc(v)` pairs sorted by encoded name, joined with '&' (V1 and V3 share it).
WipedString CanonicalQuery(const std::vector<QueryParam>& params);

}  // namespace kms_api
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_KMS_API_QUERY_PARAMS_H_
