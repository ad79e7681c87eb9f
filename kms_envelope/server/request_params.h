// RequestParams: the parameters of one request to `kms-envelope serve`, parsed, bounded and
// read the way the action handlers need them.
//
//   std::vector<QueryParam> all;
//   KMS_RETURN_IF_ERROR(ParseParams(query_string, &all));
//   Params p(&all);
//   KMS_RETURN_IF_ERROR(p.CheckAccepted("Decrypt", {"CiphertextBlob"}, {"EncryptionContext"}));
//   KMS_ASSIGN_OR_RETURN(std::string_view blob, p.Required("CiphertextBlob"));
//   KMS_ASSIGN_OR_RETURN(EncryptionContext ctx, p.Context("EncryptionContext"));
//
// Contract:
// - ParseParams percent-decodes `a=b&c=d` ('+' is a space) and refuses (InvalidParameter) a
//   malformed escape, a duplicate name, a name or value that is not UTF-8 (every parameter of
//   the KMS API is text, and a non-UTF-8 one would later break the JSON writers), more than
//   kMaxRequestParams parameters, a name over kMaxParamNameSize or a value over
//   kMaxParamValueSize bytes.
// - A map parameter (EncryptionContext, SourceEncryptionContext, DestinationEncryptionContext)
//   comes in one of two styles, both understood:
//     the API reference's JSON string      EncryptionContext={"Example":"Example"}
//     the Tea/Darabonba SDKs' flattening   EncryptionContext.Example=Example (one per entry)
//   In the flattened style the map key is everything after the first '.', so a key may contain
//   dots (the SDKs flatten {"a.b":"c"} and {"a":{"b":"c"}} alike; a context holds strings only,
//   so it is read as the key "a.b"). Both styles of one name in a request are InvalidParameter:
//   nothing is merged.
// - CheckAccepted: every parameter is a common one (kCommonParams: signature, nonce, timestamp,
//   version, format, region, security token) or one the action declares; the first other one is
//   InvalidParameter naming it. No parameter is ever silently ignored.
// - Params only borrows the vector; values stay in WipedString (Encrypt's Plaintext).
#ifndef KMS_ENVELOPE_SERVER_REQUEST_PARAMS_H_
#define KMS_ENVELOPE_SERVER_REQUEST_PARAMS_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/kms_api/query_params.h"
#include "kms_envelope/kms_api/wiped_string.h"

namespace kms_envelope {
namespace server {

// A flattened context with kMaxPairs entries, plus the common parameters, fits.
inline constexpr size_t kMaxRequestParams = 2 * EncryptionContext::kMaxPairs + 32;
inline constexpr size_t kMaxParamNameSize = 320;  // "DestinationEncryptionContext." + a key
inline constexpr size_t kMaxParamValueSize = 96 * 1024;

// Parameters every action accepts: the V1 signature scheme's own, the response format, and the
// region and STS token the SDKs add. V3 sends its signature in headers, but a V3 request may
// carry Action/Version/Format in the query too.
inline constexpr std::string_view kCommonParams[] = {
    "Action",          "Version",          "Format",         "AccessKeyId",
    "Signature",       "SignatureMethod",  "SignatureVersion", "SignatureNonce",
    "Timestamp",       "SecurityToken",    "RegionId"};

// Appends the parameters of `text` (a query string or form body) to `out` (see the contract).
[[nodiscard]] absl::Status ParseParams(std::string_view text, std::vector<kms_api::QueryParam>* out);

class Params {
 public:
  explicit Params(const std::vector<kms_api::QueryParam>* all) : all_(all) {}

  const kms_api::WipedString* Find(std::string_view name) const;
  // The value, or "" when absent.
  std::string_view Get(std::string_view name) const;
  // MissingParameter when absent or empty.
  [[nodiscard]] absl::StatusOr<std::string_view> Required(std::string_view name) const;
  // A decimal integer in [lo, hi]; nullopt when absent or empty. InvalidParameter otherwise.
  [[nodiscard]] absl::StatusOr<std::optional<int64_t>> Int(std::string_view name, int64_t lo,
                                                           int64_t hi) const;
  // The map parameter `name` as a context, from either style (see the contract); empty when
  // neither is present.
  [[nodiscard]] absl::StatusOr<EncryptionContext> Context(std::string_view name) const;
  // InvalidParameter naming the first parameter that is neither common nor in `scalars`, nor a
  // map parameter of `maps` (`M` or `M.<key>`).
  [[nodiscard]] absl::Status CheckAccepted(std::string_view action,
                                           absl::Span<const std::string_view> scalars,
                                           absl::Span<const std::string_view> maps) const;

  const std::vector<kms_api::QueryParam>& all() const { return *all_; }

 private:
  const std::vector<kms_api::QueryParam>* all_;
};

}  // namespace server
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_SERVER_REQUEST_PARAMS_H_
