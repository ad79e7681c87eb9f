// RFC 4122 version 4 UUIDs: CMK and key version ids, SignatureNonces, RequestIds.
//
//   std::string key_id;
//   RandomUuidInto(&key_id);                          // "1b4e28ba-2fa1-41d2-883f-0016d3cca427"
//   std::string nonce = RandomUuid();
//   UniqueUuidInto(&response.request_id, UuidCase::kUpper);  // unique, not unpredictable
//   if (!IsUuid(text)) return ...;
//
// Contract: 36 characters, 8-4-4-4-12 hex digits, version nibble 4, variant bits 10. Random
// UUIDs carry 122 bits from the CSPRNG (FillRandom); unique ones come from NextUniqueId (a
// per-thread random start plus a counter) and must never stand in for a secret or a nonce an
// attacker must not guess. The *Into forms reuse the output's capacity (no allocation once it
// holds 36 characters). Thread safe (no shared state).
#ifndef KMS_ENVELOPE_INTERNAL_UUID_H_
#define KMS_ENVELOPE_INTERNAL_UUID_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/types/span.h"

namespace kms_envelope {
namespace internal {

inline constexpr size_t kUuidSize = 36;
inline constexpr size_t kUuidBytes = 16;

// The hex digits' case: Alibaba Cloud writes RequestIds in upper case, ids in lower case.
enum class UuidCase { kLower, kUpper };

// Formats 16 bytes as a version 4 UUID (the version and variant bits are overwritten). Fewer
// than 16 bytes are padded with zeros, more are ignored.
void FormatUuidInto(absl::Span<const uint8_t> bytes, std::string* out,
                    UuidCase hex_case = UuidCase::kLower);
// The same for the 16 bytes high (big endian) || low (big endian).
void FormatUuidInto(uint64_t high, uint64_t low, std::string* out,
                    UuidCase hex_case = UuidCase::kLower);

// A random UUID (FillRandom).
void RandomUuidInto(std::string* out, UuidCase hex_case = UuidCase::kLower);
std::string RandomUuid(UuidCase hex_case = UuidCase::kLower);

// A UUID unique in this process but predictable (NextUniqueId): for RequestIds, which only
// have to tell requests apart.
void UniqueUuidInto(std::string* out, UuidCase hex_case = UuidCase::kLower);

// True for 36 characters of hex digits (either case) with dashes at 8, 13, 18 and 23. The
// version and variant digits are not checked: ids written by other implementations are
// accepted as long as they have the shape.
bool IsUuid(std::string_view s);

}  // namespace internal
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_INTERNAL_UUID_H_
