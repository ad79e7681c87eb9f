#include "kms_envelope/envelope/format.h"

#include <sodium.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace envelope {
namespace {

using internal::LoadBigEndian32;
using internal::StoreBigEndian32;
using internal::StoreBigEndian64;


absl::Status Malformed(std::string_view what) {
  return KmsError(kms_code::kInvalidCiphertext, absl::StrCat("malformed envelope header: ", internal::Av(what)));
}

absl::Status Truncated() {
  return absl::OutOfRangeError("envelope header is truncated");
}

// A bounds-checked reader over the input. Every Take checks the remaining size first.
class Reader {
 public:
  explicit Reader(absl::Span<const uint8_t> in) : in_(in) {}
  size_t offset() const { return pos_; }
  size_t remaining() const { return in_.size() - pos_; }
  bool Take(size_t n, absl::Span<const uint8_t>* out) {
    if (remaining() < n) return false;
    *out = in_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  bool U8(uint8_t* v) {
    if (remaining() < 1) return false;
    *v = in_[pos_++];
    return true;
  }
  bool U32(uint32_t* v) {
    if (remaining() < 4) return false;
    *v = LoadBigEndian32(in_.data() + pos_);
    pos_ += 4;
    return true;
  }

 private:
  absl::Span<const uint8_t> in_;
  size_t pos_ = 0;
};

// Reads a u32 length and the bytes it announces, rejecting lengths outside [min, max] before
// looking at (or allocating for) the data.
absl::Status ReadField(Reader& r, std::string_view name, uint32_t min, uint32_t max,
                       absl::Span<const uint8_t>* out) {
  uint32_t len;
  if (!r.U32(&len)) return Truncated();
  if (len < min || len > max) {
    return Malformed(absl::StrCat(internal::Av(name), " length ", len, " outside ", min, "..", max));
  }
  if (!r.Take(len, out)) return Truncated();
  return absl::OkStatus();
}

// Writes into a buffer sized beforehand: one resize, then plain copies (a header is about 15
// fields, and a string append per field cost more than the copies themselves).
class Writer {
 public:
  explicit Writer(char* p) : p_(p) {}
  void Bytes(const void* data, size_t n) {
    if (n > 0) std::memcpy(p_, data, n);
    p_ += n;
  }
  void U8(uint8_t v) { *p_++ = static_cast<char>(v); }
  void U32(uint32_t v) {
    StoreBigEndian32(v, reinterpret_cast<uint8_t*>(p_));
    p_ += 4;
  }
  void Field(std::string_view bytes) {
    U32(static_cast<uint32_t>(bytes.size()));
    Bytes(bytes.data(), bytes.size());
  }
  const char* position() const { return p_; }

 private:
  char* p_;
};

absl::Status CheckLen(std::string_view name, size_t len, size_t min, size_t max) {
  if (len < min || len > max) {
    return KmsError(kms_code::kInvalidParameter,
                    absl::StrCat(internal::Av(name), " length ", len, " outside ", min, "..", max));
  }
  return absl::OkStatus();
}

}  // namespace

bool IsKnownSuite(uint8_t id) { return id == 1 || id == 2; }

bool IsKnownFormatVersion(uint8_t version) {
  return version >= kOldestFormatVersion && version <= kFormatVersion;
}

std::string_view SuiteName(Suite suite) {
  return suite == Suite::kAes256GcmHkdfSha256Committing ? "aes-256-gcm" : "xchacha20-poly1305";
}

absl::StatusOr<Suite> SuiteFromName(std::string_view name) {
  if (name == "aes-256-gcm") return Suite::kAes256GcmHkdfSha256Committing;
  if (name == "xchacha20-poly1305") return Suite::kXChaCha20Poly1305HkdfSha256Committing;
  return KmsError(kms_code::kInvalidParameter,
                  absl::StrCat("unknown suite \"", internal::Av(name),
                               "\" (aes-256-gcm | xchacha20-poly1305)"));
}

namespace {

// Views of a MessageHeader's owned fields; `keys` holds the wrapped key views.
HeaderFields FieldsOf(const MessageHeader& h, std::vector<WrappedKeyView>* keys) {
  keys->clear();
  keys->reserve(h.wrapped_keys.size());
  for (const WrappedKey& k : h.wrapped_keys) {
    keys->push_back(WrappedKeyView{k.provider_id, k.key_id, k.key_version_id, k.ciphertext_blob});
  }
  HeaderFields f;
  f.version = h.version;
  f.suite = h.suite;
  f.frame_size = h.frame_size;
  f.message_id = absl::MakeConstSpan(h.message_id);
  f.wrapped_keys = absl::MakeConstSpan(*keys);
  f.context = &h.context;
  f.commitment = absl::MakeConstSpan(h.commitment);
  return f;
}

}  // namespace

absl::Status ValidateHeaderFields(const HeaderFields& h) {
  if (!IsKnownFormatVersion(h.version)) {
    return KmsError(kms_code::kInvalidParameter,
                    absl::StrCat("unsupported format version ", h.version));
  }
  if (!IsKnownSuite(static_cast<uint8_t>(h.suite))) {
    return KmsError(kms_code::kInvalidParameter, "unknown suite");
  }
  if (h.frame_size < kMinFrameSize || h.frame_size > kMaxFrameSize) {
    return KmsError(kms_code::kInvalidParameter,
                    absl::StrCat("frame size ", h.frame_size, " outside ", kMinFrameSize, "..",
                                 kMaxFrameSize));
  }
  if (h.message_id.size() != kMessageIdSize || h.commitment.size() != kCommitmentSize ||
      h.context == nullptr) {
    return absl::InvalidArgumentError("header fields need a message id, commitment and context");
  }
  KMS_RETURN_IF_ERROR(CheckLen("wrapped key list", h.wrapped_keys.size(), 1, kMaxWrappedKeys));
  for (const WrappedKeyView& k : h.wrapped_keys) {
    KMS_RETURN_IF_ERROR(CheckLen("provider id", k.provider_id.size(), 1, kMaxProviderIdSize));
    KMS_RETURN_IF_ERROR(CheckLen("key id", k.key_id.size(), 1, kMaxKeyIdSize));
    KMS_RETURN_IF_ERROR(CheckLen("key version id", k.key_version_id.size(), 0, kMaxKeyVersionIdSize));
    KMS_RETURN_IF_ERROR(CheckLen("CiphertextBlob", k.ciphertext_blob.size(), 1, kMaxWrappedBlobSize));
  }
  KMS_RETURN_IF_ERROR(
      CheckLen("encryption context", h.context->Canonical().size(), 2, kMaxContextSize));
  return absl::OkStatus();
}

absl::Status ValidateHeader(const MessageHeader& h) {
  std::vector<WrappedKeyView> keys;
  return ValidateHeaderFields(FieldsOf(h, &keys));
}

void SerializeHeaderBodyInto(const HeaderFields& h, std::string* out) {
  size_t size = kFixedPrefixSize + 4 + h.context->Canonical().size() + kCommitmentSize;
  for (const WrappedKeyView& k : h.wrapped_keys) {
    size += 16 + k.provider_id.size() + k.key_id.size() + k.key_version_id.size() +
            k.ciphertext_blob.size();
  }
  out->reserve(size + kHeaderTagSize);  // the sealer appends the tag next
  out->resize(size);
  Writer w(out->data());
  w.Bytes(kMagic, 4);
  w.U8(h.version);
  w.U8(static_cast<uint8_t>(h.suite));
  w.U32(h.frame_size);
  w.Bytes(h.message_id.data(), kMessageIdSize);
  w.U32(static_cast<uint32_t>(h.wrapped_keys.size()));
  for (const WrappedKeyView& k : h.wrapped_keys) {
    w.Field(k.provider_id);
    w.Field(k.key_id);
    w.Field(k.key_version_id);
    w.Field(k.ciphertext_blob);
  }
  w.Field(internal::Chars(h.context->Canonical()));
  w.Bytes(h.commitment.data(), kCommitmentSize);
  if (w.position() != out->data() + size) std::abort();  // the size above and the writes disagree
}

std::string SerializeHeaderBody(const MessageHeader& h) {
  std::vector<WrappedKeyView> keys;
  std::string out;
  SerializeHeaderBodyInto(FieldsOf(h, &keys), &out);
  return out;
}

std::string SerializeHeader(const MessageHeader& h) {
  std::string out = SerializeHeaderBody(h);
  out.append(reinterpret_cast<const char*>(h.header_tag.data()), kHeaderTagSize);
  return out;
}

size_t SerializedHeaderSize(const MessageHeader& h) {
  size_t n = kFixedPrefixSize;
  for (const WrappedKey& k : h.wrapped_keys) {
    n += 16 + k.provider_id.size() + k.key_id.size() + k.key_version_id.size() +
         k.ciphertext_blob.size();
  }
  return n + 4 + h.context.Canonical().size() + kCommitmentSize + kHeaderTagSize;
}

absl::StatusOr<ParsedHeader> ParseHeader(absl::Span<const uint8_t> input) {
  return ParseHeader(input, nullptr);
}

absl::StatusOr<ParsedHeader> ParseHeader(absl::Span<const uint8_t> input,
                                         const EncryptionContext* expected) {
  ParsedHeader parsed;
  KMS_RETURN_IF_ERROR(ParseHeaderInto(input, expected, &parsed));
  return parsed;
}

absl::Status ParseHeaderInto(absl::Span<const uint8_t> input, const EncryptionContext* expected,
                             ParsedHeader* out) {
  Reader r(input);
  absl::Span<const uint8_t> magic;
  if (!r.Take(4, &magic)) {
    // A prefix of the magic may still become a header; anything else is not one.
    if (!input.empty() && std::memcmp(input.data(), kMagic, input.size()) != 0) {
      return Malformed("bad magic");
    }
    return Truncated();
  }
  if (std::memcmp(magic.data(), kMagic, 4) != 0) return Malformed("bad magic");
  uint8_t version, suite;
  if (!r.U8(&version)) return Truncated();
  if (!IsKnownFormatVersion(version)) {
    return Malformed(absl::StrCat("unsupported format version ", version));
  }
  if (!r.U8(&suite)) return Truncated();
  if (!IsKnownSuite(suite)) return Malformed(absl::StrCat("unknown suite id ", suite));
  MessageHeader& h = out->header;
  h.version = version;
  h.suite = static_cast<Suite>(suite);
  if (!r.U32(&h.frame_size)) return Truncated();
  if (h.frame_size < kMinFrameSize || h.frame_size > kMaxFrameSize) {
    return Malformed(absl::StrCat("frame size ", h.frame_size, " outside ", kMinFrameSize, "..",
                                  kMaxFrameSize));
  }
  absl::Span<const uint8_t> id;
  if (!r.Take(kMessageIdSize, &id)) return Truncated();
  std::memcpy(h.message_id.data(), id.data(), kMessageIdSize);
  uint32_t count;
  if (!r.U32(&count)) return Truncated();
  if (count < 1 || count > kMaxWrappedKeys) {
    return Malformed(absl::StrCat("wrapped key count ", count, " outside 1..", kMaxWrappedKeys));
  }
  // count <= kMaxWrappedKeys: a bounded, small list. Assigning into the entries a reused header
  // already has keeps their capacity (no allocation when the caller parses message after message).
  h.wrapped_keys.resize(count);
  for (WrappedKey& k : h.wrapped_keys) {
    absl::Span<const uint8_t> provider, key, version_id, blob;
    KMS_RETURN_IF_ERROR(ReadField(r, "provider id", 1, kMaxProviderIdSize, &provider));
    KMS_RETURN_IF_ERROR(ReadField(r, "key id", 1, kMaxKeyIdSize, &key));
    KMS_RETURN_IF_ERROR(ReadField(r, "key version id", 0, kMaxKeyVersionIdSize, &version_id));
    KMS_RETURN_IF_ERROR(ReadField(r, "CiphertextBlob", 1, kMaxWrappedBlobSize, &blob));
    k.provider_id.assign(internal::Chars(provider));
    k.key_id.assign(internal::Chars(key));
    k.key_version_id.assign(internal::Chars(version_id));
    k.ciphertext_blob.assign(internal::Chars(blob));
  }
  absl::Span<const uint8_t> context;
  KMS_RETURN_IF_ERROR(ReadField(r, "encryption context", 2, kMaxContextSize, &context));
  if (expected != nullptr && internal::Chars(expected->Canonical()) == internal::Chars(context)) {
    h.context = *expected;  // shares the representation: no decoding, no allocation
  } else {
    auto ctx = EncryptionContext::FromCanonical(context);
    if (!ctx.ok()) return Malformed("encryption context is not canonical");
    h.context = *std::move(ctx);
  }
  absl::Span<const uint8_t> commitment, tag;
  if (!r.Take(kCommitmentSize, &commitment)) return Truncated();
  std::memcpy(h.commitment.data(), commitment.data(), kCommitmentSize);
  out->body_size = r.offset();
  if (!r.Take(kHeaderTagSize, &tag)) return Truncated();
  std::memcpy(h.header_tag.data(), tag.data(), kHeaderTagSize);
  out->header_size = r.offset();
  return absl::OkStatus();
}

uint64_t FrameCount(uint64_t plaintext_size, uint32_t frame_size) {
  return plaintext_size / frame_size + 1;
}

uint64_t PayloadSize(uint64_t plaintext_size, uint32_t frame_size) {
  return plaintext_size + FrameCount(plaintext_size, frame_size) * kFrameTagSize;
}

absl::StatusOr<uint64_t> PlaintextSizeForPayload(uint64_t payload_size, uint32_t frame_size) {
  const uint64_t full = uint64_t{frame_size} + kFrameTagSize;
  const uint64_t full_frames = payload_size / full;
  const uint64_t rest = payload_size % full;
  // The final frame is tag + 0..F-1 bytes; a remainder shorter than a tag cannot be one.
  if (rest < kFrameTagSize) {
    return KmsError(kms_code::kInvalidCiphertext, "sealed payload has an impossible length (truncated?)");
  }
  if (full_frames + 1 > kMaxFrameCount) {
    return KmsError(kms_code::kInvalidCiphertext, "sealed payload has too many frames");
  }
  return full_frames * frame_size + (rest - kFrameTagSize);
}

bool PlaintextSizeAllowed(uint64_t plaintext_size, uint32_t frame_size) {
  return FrameCount(plaintext_size, frame_size) <= kMaxFrameCount;
}

}  // namespace envelope
}  // namespace kms_envelope
