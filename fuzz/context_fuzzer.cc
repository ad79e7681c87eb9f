// Fuzz target: the encryption-context parsers (kms_envelope/encryption_context.h), both forms.
//
// Invariants checked on every input (the same bytes go to both parsers):
// - FromJson / FromCanonical never crash or throw, and fail only with InvalidParameter.
// - An accepted context obeys the limits (pairs, key and value sizes, canonical size).
// - Canonical form is unique: FromCanonical accepts only bytes equal to Canonical() of what it
//   returns, and Canonical() of any accepted context parses back to an equal context.
// - ToJson round-trips: FromJson(ToJson(c)) == c.
// - Contains is reflexive, and the empty context is contained in everything.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "absl/types/span.h"
#include "fuzz/fuzz_check.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/kms_error.h"

namespace {

using kms_envelope::EncryptionContext;

void CheckAccepted(const EncryptionContext& c) {
  FUZZ_CHECK(c.pairs().size() <= EncryptionContext::kMaxPairs);
  for (const auto& [key, value] : c.pairs()) {
    FUZZ_CHECK(!key.empty() && key.size() <= EncryptionContext::kMaxKeySize);
    FUZZ_CHECK(value.size() <= EncryptionContext::kMaxValueSize);
  }
  absl::Span<const uint8_t> canonical = c.Canonical();
  FUZZ_CHECK(canonical.size() >= 2 && canonical.size() <= EncryptionContext::kMaxCanonicalSize);
  FUZZ_CHECK(c.empty() == (canonical.size() == 2));
  auto again = EncryptionContext::FromCanonical(canonical);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == c);
  auto from_json = EncryptionContext::FromJson(c.ToJson());
  FUZZ_CHECK(from_json.ok());
  FUZZ_CHECK(*from_json == c);
  FUZZ_CHECK(c.Contains(c));
  FUZZ_CHECK(c.Contains(EncryptionContext::Empty()));
}

void CheckRejected(const absl::Status& status) {
  FUZZ_CHECK(kms_envelope::GetKmsErrorCode(status) == kms_envelope::kms_code::kInvalidParameter);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto json = EncryptionContext::FromJson(text);
  if (json.ok()) {
    CheckAccepted(*json);
  } else {
    CheckRejected(json.status());
  }
  auto canonical = EncryptionContext::FromCanonical(absl::Span<const uint8_t>(data, size));
  if (canonical.ok()) {
    CheckAccepted(*canonical);
    // The canonical form is unique: the accepted bytes are exactly the re-encoding.
    FUZZ_CHECK(canonical->Canonical().size() == size);
    FUZZ_CHECK(std::memcmp(canonical->Canonical().data(), data, size) == 0);
  } else {
    CheckRejected(canonical.status());
  }
  return 0;
}
