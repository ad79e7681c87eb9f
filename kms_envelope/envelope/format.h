// The kms-envelope message format, versions 1 and 2: header codec, key schedule, frame layout.
//
//   MessageHeader header = ...;                      // filled by the sealer
//   std::string bytes = SerializeHeaderBody(header); // everything the header tag covers
//   KMS_ASSIGN_OR_RETURN(ParsedHeader parsed, ParseHeader(sealed));   // bounded, no secrets
//   KMS_ASSIGN_OR_RETURN(MessageKeys keys,
//                        DeriveMessageKeys(version, suite, data_key, message_id));
//
// docs/format.md is the normative description (byte offsets, KDF inputs, nonces, AAD). Summary,
// all integers big endian:
//
//   offset  size  field
//   0       4     magic "KMSE" (4B 4D 53 45)
//   4       1     format version (2 written; 1 and 2 read)
//   5       1     suite id (1 = AES-256-GCM, 2 = XChaCha20-Poly1305; both committing)
//   6       4     frame size F (kMinFrameSize..kMaxFrameSize)
//   10      32    message id (random)
//   42      4     wrapped key count N (1..kMaxWrappedKeys)
//   46      ...   N wrapped keys, each:
//                   u32 provider id length (1..kMaxProviderIdSize), provider id
//                   u32 key id length (1..kMaxKeyIdSize), key id (CMK GUID)
//                   u32 key version id length (0..kMaxKeyVersionIdSize), key version id
//                   u32 CiphertextBlob length (1..kMaxCiphertextBlobSize), CiphertextBlob
//           4     encryption context length (2..EncryptionContext::kMaxCanonicalSize)
//           ...   canonical encryption context (EncryptionContext::Canonical())
//           32    key commitment
//           16    header tag
//   then the frames (see below).
//
// The two versions differ only in the key schedule (the layout is the same byte for byte):
// Version 2 (NIST SP 800-56C one-step KDF with SHA-256, z = the 32-byte data key):
//   payload key (32) || commitment (32) =
//       K(1) || K(2),  K(i) = SHA-256(u32 i || data key || "kms-envelope/v2/keys" || suite id
//                                     || message id)
// Version 1 (HKDF-SHA256, salt = message id, ikm = the 32-byte data key):
//   payload key (32) = HKDF(ikm, salt, "kms-envelope/v1/payload-key" || suite id)
//   commitment  (32) = HKDF(ikm, salt, "kms-envelope/v1/key-commitment" || suite id)
// Version 2 exists for speed: 4 SHA-256 compressions per message instead of 10 (the data key is
// a fresh uniformly random key, so HKDF's extract step buys nothing); both bind the data key,
// the suite and the message id, and both commitments are SHA-256 outputs (collision resistant).
// Nonces under the payload key: nonce prefix (the first nonce_size-8 bytes of the message id)
// || u64 counter. Counter 0 is the header tag, frame i (0-based) uses counter i+1, so the header
// nonce never collides with a frame nonce, and frame nonces never repeat (count is bounded by
// kMaxFrameCount).
// Header tag = AEAD(payload key, nonce(0), aad = header bytes from offset 0 through the
// commitment, plaintext = empty).
// Frames: M = floor(P / F) + 1 frames for P plaintext bytes. Frames 0..M-2 carry exactly F bytes,
// the final frame carries P mod F bytes (0..F-1; a final frame is never full, so an empty final
// frame follows a plaintext that is a multiple of F). Each frame is ciphertext || 16-byte tag,
// AEAD(payload key, nonce(i+1), aad = message id || u64 i || u8 final(0/1), frame plaintext).
//
// Parsing contract: every length is checked against its named maximum and against the remaining
// input before anything is allocated. A header that ends early yields OutOfRange (so a stream
// reader can fetch more bytes, up to kMaxHeaderSize); anything malformed yields
// InvalidCiphertext. Parsing never touches key material and authenticates nothing: the header is
// authenticated by the opener (commitment, then header tag) once a data key is unwrapped.
#ifndef KMS_ENVELOPE_ENVELOPE_FORMAT_H_
#define KMS_ENVELOPE_ENVELOPE_FORMAT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/key_provider.h"
#include "kms_envelope/secret_bytes.h"

namespace kms_envelope {
namespace envelope {

inline constexpr uint8_t kMagic[4] = {'K', 'M', 'S', 'E'};
// The version a sealer writes, and the oldest one a reader still opens.
inline constexpr uint8_t kFormatVersion = 2;
inline constexpr uint8_t kOldestFormatVersion = 1;

enum class Suite : uint8_t {
  kAes256GcmHkdfSha256Committing = 1,
  kXChaCha20Poly1305HkdfSha256Committing = 2,
};

inline constexpr size_t kMessageIdSize = 32;
inline constexpr size_t kCommitmentSize = 32;
inline constexpr size_t kHeaderTagSize = 16;
inline constexpr size_t kFrameTagSize = 16;
inline constexpr size_t kDataKeySize = 32;
inline constexpr size_t kPayloadKeySize = 32;

// Frame size bounds: small frames for tests and storage engines, 16 MiB at most (far below the
// AES-GCM per-invocation limit of 2^36-32 bytes, and bounding streaming memory).
inline constexpr uint32_t kMinFrameSize = 64;
inline constexpr uint32_t kMaxFrameSize = uint32_t{1} << 24;
inline constexpr uint32_t kDefaultFrameSize = uint32_t{1} << 16;
// Frame counter 0 is the header tag, frames use 1..kMaxFrameCount: nonces never repeat.
inline constexpr uint64_t kMaxFrameCount = (uint64_t{1} << 32) - 1;

// Header field maxima (the parser enforces them before allocating).
inline constexpr uint32_t kMaxWrappedKeys = 16;
inline constexpr uint32_t kMaxProviderIdSize = 128;
inline constexpr uint32_t kMaxKeyIdSize = 256;
inline constexpr uint32_t kMaxKeyVersionIdSize = 128;
inline constexpr uint32_t kMaxWrappedBlobSize = static_cast<uint32_t>(kMaxCiphertextBlobSize);
inline constexpr uint32_t kMaxContextSize =
    static_cast<uint32_t>(EncryptionContext::kMaxCanonicalSize);
inline constexpr size_t kFixedPrefixSize = 4 + 1 + 1 + 4 + kMessageIdSize + 4;  // 46
inline constexpr size_t kMaxWrappedKeyEntrySize = 4 * 4 + kMaxProviderIdSize + kMaxKeyIdSize +
                                                  kMaxKeyVersionIdSize + kMaxWrappedBlobSize;
// The largest header the parser accepts (about 145 KiB); stream readers never buffer more.
inline constexpr size_t kMaxHeaderSize = kFixedPrefixSize + kMaxWrappedKeys * kMaxWrappedKeyEntrySize +
                                         4 + kMaxContextSize + kCommitmentSize + kHeaderTagSize;

struct WrappedKey {
  std::string provider_id;     // KeyProvider::provider_id() that produced the blob
  std::string key_id;          // CMK GUID that wrapped the data key
  std::string key_version_id;  // CMK version (informational; the blob names it too)
  std::string ciphertext_blob; // CiphertextBlob, raw bytes
};

struct MessageHeader {
  uint8_t version = kFormatVersion;  // selects the key schedule (see above)
  Suite suite = Suite::kAes256GcmHkdfSha256Committing;
  uint32_t frame_size = kDefaultFrameSize;
  std::array<uint8_t, kMessageIdSize> message_id{};
  std::vector<WrappedKey> wrapped_keys;
  EncryptionContext context;
  std::array<uint8_t, kCommitmentSize> commitment{};
  std::array<uint8_t, kHeaderTagSize> header_tag{};
};

struct ParsedHeader {
  MessageHeader header;
  // Bytes 0 .. body_size-1 are what the header tag authenticates (through the commitment);
  // header_size = body_size + kHeaderTagSize is where the first frame starts.
  size_t body_size = 0;
  size_t header_size = 0;
};

bool IsKnownSuite(uint8_t id);
// kOldestFormatVersion..kFormatVersion: the versions this build reads.
bool IsKnownFormatVersion(uint8_t version);
std::string_view SuiteName(Suite suite);  // "aes-256-gcm" | "xchacha20-poly1305"
absl::StatusOr<Suite> SuiteFromName(std::string_view name);

// A wrapped key as views into the provider's response (see WrappedKey).
struct WrappedKeyView {
  std::string_view provider_id;
  std::string_view key_id;
  std::string_view key_version_id;
  std::string_view ciphertext_blob;
};

// The fields of a header being written, as views: the sealer fills this straight from the
// provider's responses and its caller's context, so sealing copies none of them (MessageHeader
// owns copies; this does not). Every view must outlive the calls below.
struct HeaderFields {
  uint8_t version = kFormatVersion;
  Suite suite = Suite::kAes256GcmHkdfSha256Committing;
  uint32_t frame_size = kDefaultFrameSize;
  absl::Span<const uint8_t> message_id;       // kMessageIdSize bytes
  absl::Span<const WrappedKeyView> wrapped_keys;
  const EncryptionContext* context = nullptr;  // never null
  absl::Span<const uint8_t> commitment;       // kCommitmentSize bytes
};

// Checks every field against the limits above (what the sealer and rewrapper must obey).
[[nodiscard]] absl::Status ValidateHeader(const MessageHeader& header);
[[nodiscard]] absl::Status ValidateHeaderFields(const HeaderFields& fields);

// The header bytes through the commitment (what the header tag covers). Requires a valid header.
std::string SerializeHeaderBody(const MessageHeader& header);
// The same bytes from views, written over `out` (its capacity is reused). Requires fields that
// passed ValidateHeaderFields.
void SerializeHeaderBodyInto(const HeaderFields& fields, std::string* out);
// SerializeHeaderBody || header tag.
std::string SerializeHeader(const MessageHeader& header);
size_t SerializedHeaderSize(const MessageHeader& header);

// Parses a header at the start of `input` (trailing bytes are the payload and are ignored).
// OutOfRange when `input` ends inside the header, InvalidCiphertext when it is malformed.
[[nodiscard]] absl::StatusOr<ParsedHeader> ParseHeader(absl::Span<const uint8_t> input);
// The same, for a caller that expects a context: when the header's canonical context bytes equal
// `expected`'s, the parsed header shares `expected` instead of decoding and validating the bytes
// again (they are canonical by construction then); otherwise it parses them as above.
[[nodiscard]] absl::StatusOr<ParsedHeader> ParseHeader(absl::Span<const uint8_t> input,
                                                       const EncryptionContext* expected);
// The same into `*out`, reusing the capacity of its strings and list (the in-memory Open path
// parses into a per-thread header, so a message's header costs no allocation). On error `*out`
// holds a partial header that must not be used.
[[nodiscard]] absl::Status ParseHeaderInto(absl::Span<const uint8_t> input,
                                           const EncryptionContext* expected, ParsedHeader* out);

// Payload geometry.
uint64_t FrameCount(uint64_t plaintext_size, uint32_t frame_size);
// Payload bytes for a plaintext of `plaintext_size` bytes (all frames and tags).
uint64_t PayloadSize(uint64_t plaintext_size, uint32_t frame_size);
// The plaintext size for a payload of `payload_size` bytes, or InvalidCiphertext when no
// plaintext size yields exactly that payload size.
[[nodiscard]] absl::StatusOr<uint64_t> PlaintextSizeForPayload(uint64_t payload_size,
                                                               uint32_t frame_size);
// True when a plaintext of this size can be sealed with this frame size (frame count bound).
bool PlaintextSizeAllowed(uint64_t plaintext_size, uint32_t frame_size);

}  // namespace envelope
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_ENVELOPE_FORMAT_H_
