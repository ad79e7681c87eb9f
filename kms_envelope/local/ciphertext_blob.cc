#include "kms_envelope/local/ciphertext_blob.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/internal/random.h"
#include "kms_envelope/internal/wipe.h"
#include "kms_envelope/key_provider.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace local {
namespace {

absl::Status Invalid(std::string_view why) {
  return KmsError(kms_code::kInvalidCiphertext, why);
}

// The base64 text of a plaintext, in locked memory, wiped when this goes out of scope. Texts of
// keys up to kMaxNumberOfBytes use a per-thread scratch buffer (allocated once per thread), so
// the hot path takes no allocator lock; larger texts (Encrypt) get their own SecretBytes.
class TextBuffer {
 public:
  static constexpr size_t kScratchSize = internal::Base64EncodedSize(kMaxNumberOfBytes);

  TextBuffer() = default;
  TextBuffer(const TextBuffer&) = delete;
  TextBuffer& operator=(const TextBuffer&) = delete;
  ~TextBuffer() {
    internal::WipeBytes(span_.data(), span_.size());
  }

  [[nodiscard]] absl::Status Init(size_t size) {
    if (size <= kScratchSize) {
      thread_local SecretBytes scratch;
      if (scratch.empty()) {
        absl::StatusOr<SecretBytes> fresh = SecretBytes::New(kScratchSize);
        if (!fresh.ok()) return fresh.status();
        scratch = *std::move(fresh);
      }
      span_ = absl::MakeSpan(scratch.mutable_data(), size);
    } else {
      absl::StatusOr<SecretBytes> own = SecretBytes::New(size);
      if (!own.ok()) return own.status();
      own_ = *std::move(own);
      span_ = own_.mutable_span();
    }
    return absl::OkStatus();
  }
  absl::Span<uint8_t> span() { return span_; }

 private:
  SecretBytes own_;
  absl::Span<uint8_t> span_;
};

}  // namespace

absl::StatusOr<ParsedCiphertextBlob> ParseCiphertextBlob(absl::Span<const uint8_t> blob) {
  if (blob.size() < kMinCiphertextBlobSize) return Invalid("CiphertextBlob too short");
  if (blob.size() > kMaxCiphertextBlobSize) return Invalid("CiphertextBlob too long");
  const size_t body = blob.size() - kKeyVersionIdSize - kBlobIvSize - kBlobTagSize;
  if (body % 4 != 0) return Invalid("CiphertextBlob has a malformed length");
  ParsedCiphertextBlob parsed;
  parsed.key_version_id =
      std::string_view(reinterpret_cast<const char*>(blob.data()), kKeyVersionIdSize);
  if (!internal::IsUuid(parsed.key_version_id)) return Invalid("CiphertextBlob names no key version");
  parsed.iv = blob.subspan(kKeyVersionIdSize, kBlobIvSize);
  parsed.ciphertext_and_tag = blob.subspan(kKeyVersionIdSize + kBlobIvSize);
  return parsed;
}

absl::Status SealCiphertextBlob(const internal::AeadKey& cmk, std::string_view key_version_id,
                                absl::Span<const uint8_t> plaintext,
                                absl::Span<const uint8_t> iv,
                                const EncryptionContext& context, std::string* out) {
  if (plaintext.empty() || plaintext.size() > kMaxEncryptPlaintextSize) {
    return KmsError(kms_code::kInvalidParameter,
                    absl::StrCat("Plaintext must be 1..", kMaxEncryptPlaintextSize, " bytes"));
  }
  // Only the length: version ids come from the store, which validates them when it creates or
  // loads them, so checking every character again on each wrap would buy nothing.
  if (key_version_id.size() != kKeyVersionIdSize) {
    return absl::InternalError("malformed key version id");
  }
  if (iv.size() != kBlobIvSize) return absl::InternalError("CiphertextBlob IV must be 12 bytes");
  const size_t text_size = internal::Base64EncodedSize(plaintext.size());
  TextBuffer text;
  absl::Status ready = text.Init(text_size);
  if (!ready.ok()) return ready;
  internal::Base64EncodeTo(plaintext, text.span());

  const size_t blob_size = CiphertextBlobSize(plaintext.size());
  if (out->size() != blob_size) out->resize(blob_size);  // a reused response already has it
  auto* p = reinterpret_cast<uint8_t*>(out->data());
  std::memcpy(p, key_version_id.data(), kKeyVersionIdSize);
  std::memcpy(p + kKeyVersionIdSize, iv.data(), kBlobIvSize);
  absl::Status sealed =
      cmk.Seal(iv, context.Canonical(), text.span(),
               absl::Span<uint8_t>(p + kKeyVersionIdSize + kBlobIvSize, text_size + kBlobTagSize));
  if (!sealed.ok()) out->clear();
  return sealed;
}

absl::Status OpenCiphertextBlob(const internal::AeadKey& cmk, const ParsedCiphertextBlob& blob,
                                const EncryptionContext& context, SecretBytes* plaintext) {
  const size_t text_size = blob.ciphertext_and_tag.size() - kBlobTagSize;
  TextBuffer text;
  absl::Status ready = text.Init(text_size);
  if (!ready.ok()) return ready;
  if (!cmk.Open(blob.iv, context.Canonical(), blob.ciphertext_and_tag, text.span()).ok()) {
    return Invalid("CiphertextBlob failed authentication (wrong EncryptionContext or tampered)");
  }
  if (!internal::Base64DecodeSecretInto(text.span(), kMaxEncryptPlaintextSize, plaintext).ok() ||
      plaintext->empty()) {
    plaintext->Clear();
    return Invalid("CiphertextBlob holds malformed plaintext");
  }
  return absl::OkStatus();
}

}  // namespace local
}  // namespace kms_envelope
