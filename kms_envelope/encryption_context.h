// EncryptionContext: the KMS `EncryptionContext` parameter, validated and canonicalized.
//
//   KMS_ASSIGN_OR_RETURN(EncryptionContext ctx,
//                        EncryptionContext::FromJson(R"({"tenant":"a","purpose":"backup"})"));
//   absl::Span<const uint8_t> aad = ctx.Canonical();   // bound to every wrapped key
//
// The service takes a JSON object whose values are strings. Two contexts are equivalent when
// they hold the same pairs, whatever the order or spacing of the JSON they came from.
//
// Canonical encoding (used as AEAD associated data, unambiguous by construction):
//   u16 pair_count (big endian), then for each pair in ascending byte order of the key:
//   u16 key_len, key bytes, u16 value_len, value bytes.
// The empty context encodes as the two bytes 00 00.
//
// Limits (checked before anything is stored): at most kMaxPairs pairs, keys 1..kMaxKeySize bytes,
// values 0..kMaxValueSize bytes, canonical encoding at most kMaxCanonicalSize bytes. Duplicate
// keys are rejected (a JSON object with a repeated key is InvalidParameter, not "last wins").
// Keys and values must be valid UTF-8.
//
// Immutable after construction; safe to share between threads. Copies are cheap (they share
// one immutable representation), so a parsed message header can reuse the caller's context.
#ifndef KMS_ENVELOPE_ENCRYPTION_CONTEXT_H_
#define KMS_ENVELOPE_ENCRYPTION_CONTEXT_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace kms_envelope {

class EncryptionContext {
 public:
  static constexpr size_t kMaxPairs = 64;
  static constexpr size_t kMaxKeySize = 256;
  static constexpr size_t kMaxValueSize = 4096;
  static constexpr size_t kMaxCanonicalSize = 16384;
  // Upper bound on the JSON text accepted by FromJson.
  static constexpr size_t kMaxJsonSize = 65536;

  // The empty context.
  EncryptionContext();

  // From the API's JSON form. "" and "{}" are the empty context. InvalidParameter (KMS code)
  // for anything that is not an object of string values or breaks a limit.
  [[nodiscard]] static absl::StatusOr<EncryptionContext> FromJson(std::string_view json);
  [[nodiscard]] static absl::StatusOr<EncryptionContext> FromPairs(
      const std::vector<std::pair<std::string, std::string>>& pairs);
  // Parses the canonical encoding (exactly, no trailing bytes). Rejects unsorted or duplicate
  // keys, so each context has exactly one encoding.
  [[nodiscard]] static absl::StatusOr<EncryptionContext> FromCanonical(
      absl::Span<const uint8_t> encoded);

  const std::map<std::string, std::string>& pairs() const { return data().pairs; }
  bool empty() const { return data().pairs.empty(); }

  // The canonical encoding described above.
  absl::Span<const uint8_t> Canonical() const {
    const std::string& c = data().canonical;
    return absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(c.data()), c.size());
  }
  // Sorted, compact JSON object.
  std::string ToJson() const;

  // True when every pair of `subset` is present here with the same value.
  bool Contains(const EncryptionContext& subset) const;

  friend bool operator==(const EncryptionContext& a, const EncryptionContext& b) {
    return a.data_ == b.data_ || a.data().canonical == b.data().canonical;
  }
  friend bool operator!=(const EncryptionContext& a, const EncryptionContext& b) {
    return !(a == b);
  }

  // The shared empty context (for requests that carry none).
  static const EncryptionContext& Empty();

 private:
  struct Data {
    std::map<std::string, std::string> pairs;
    std::string canonical;
  };
  explicit EncryptionContext(std::map<std::string, std::string> pairs);
  // The empty context's representation (shared by every default-constructed or moved-from
  // context: no allocation and no shared reference count to touch for them).
  static const Data& EmptyData();
  const Data& data() const { return data_ != nullptr ? *data_ : EmptyData(); }
  std::shared_ptr<const Data> data_;  // null: empty
};

}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_ENCRYPTION_CONTEXT_H_
