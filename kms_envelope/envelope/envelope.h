// Envelope: seal data under a fresh KMS data key; open it again through any provider that can
// unwrap one of its wrapped keys. In memory, streaming, random access, and re-wrap.
//
//   EnvelopeOptions options;
//   options.primary = {provider, "alias/backup"};        // std::shared_ptr<KeyProvider>
//   options.additional = {{dr_provider, "key-guid-in-other-region"}};
//   KMS_ASSIGN_OR_RETURN(std::unique_ptr<Envelope> env, Envelope::New(std::move(options)));
//   KMS_ASSIGN_OR_RETURN(std::string sealed, env->Seal(plaintext, context));
//   KMS_ASSIGN_OR_RETURN(std::string again, env->Open(sealed, context));
//
//   // No allocation for the payload: size the buffer once, reuse it.
//   std::vector<uint8_t> buf(env->SealedSize(record.size(), context));
//   KMS_ASSIGN_OR_RETURN(size_t n, env->SealInto(record, context, absl::MakeSpan(buf)));
//
// The message format is in format.h and docs/format.md.
//
// Sealing: one GenerateDataKey (32 bytes, AES_256) on the primary provider, plus one Encrypt of
// the data key per additional CMK, all with the message's encryption context. The payload key
// and the key commitment are derived from the data key (HKDF-SHA256, salt = message id); the data
// key is wiped right after; the payload key is wiped when the operation ends.
// GenerateDataKey carries the plaintext size as message_bytes, so a caching provider counts it
// against its byte limit; SealStream cannot know the size and leaves it unset.
//
// Opening, in this order, each step before any later one:
//   1. parse the header (every length bounded, nothing allocated beyond the bounds);
//   2. policy, with no provider call: the header's context must equal the caller's expected
//      context (when one is given) and contain `required_context`; only wrapped keys whose key id
//      is in `allowed_key_ids` (when non-empty) and whose provider id matches a configured
//      provider are tried; none left -> Forbidden.NoPermission;
//   3. provider Decrypt (the provider checks the context too); the response's KeyId must equal
//      the header's key id for that entry (a blob naming another CMK is refused and wiped);
//   4. key commitment (constant time), then the header tag;
//   5. frames, each released only after its tag verifies; the final frame is flagged in the AAD,
//      so truncation, reordering, duplication and appended bytes fail.
// Any failure returns InvalidCiphertext (or the provider's error) and no plaintext: in-memory
// outputs are zeroed; streaming sinks may already hold the verified frames before the failing
// one (callers write to a temporary file and discard it, as the CLI does).
//
// Limits: frame size kMinFrameSize..kMaxFrameSize (default 64 KiB); at most kMaxFrameCount frames
// per message (frame nonces never repeat; AES-GCM never sees more than kMaxFrameSize bytes per
// invocation, far below internal::kAesGcmMaxMessageSize); header fields as in format.h.
//
// Thread safety: all methods are const after New and may run concurrently when the providers
// are thread safe (KeyProvider requires it). The audit hook may be called concurrently.
#ifndef KMS_ENVELOPE_ENVELOPE_ENVELOPE_H_
#define KMS_ENVELOPE_ENVELOPE_ENVELOPE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/envelope/byte_stream.h"
#include "kms_envelope/envelope/format.h"
#include "kms_envelope/key_provider.h"

namespace kms_envelope {
namespace envelope {

struct MessageKeys;  // message_keys.h (private)

// A CMK to wrap data keys under: the provider that holds it and its id (GUID or alias/<name>).
struct WrappingKey {
  std::shared_ptr<KeyProvider> provider;
  std::string key_id;
};

// One provider call made for an envelope operation. Never carries key material.
struct AuditEvent {
  std::string_view operation;      // "seal" | "open" | "rewrap"
  std::string_view kms_operation;  // "GenerateDataKey" | "Encrypt" | "Decrypt" | "ReEncrypt"
  std::string_view provider_id;
  std::string_view key_id;          // the CMK GUID (from the response, else as requested)
  std::string_view key_version_id;  // empty when the call failed
  std::string_view request_id;
  bool from_cache = false;
  bool ok = false;
  std::string_view message_id_hex;  // the envelope message id (public)
};
using AuditHook = std::function<void(const AuditEvent&)>;

struct EnvelopeOptions {
  Suite suite = Suite::kAes256GcmHkdfSha256Committing;
  uint32_t frame_size = kDefaultFrameSize;
  // Sealing needs a primary key; an envelope without one can only open (and cannot rewrap).
  WrappingKey primary;
  std::vector<WrappingKey> additional;
  // More providers to try when opening (the primary/additional providers are always tried).
  std::vector<std::shared_ptr<KeyProvider>> decrypt_providers;
  // When non-empty: only wrapped keys naming one of these CMK GUIDs are ever sent to a provider.
  std::vector<std::string> allowed_key_ids;
  // Pairs every sealed/opened message's context must contain.
  EncryptionContext required_context;
  AuditHook audit_hook;
  // SealedSize() assumes at most this many bytes per CiphertextBlob (the providers' blobs for a
  // 32-byte key are about 100 bytes; lower it to shrink the bound). SealInto fails with
  // ResourceExhausted if a provider returns a larger blob than the buffer can take.
  size_t max_blob_size_for_sizing = kMaxWrappedBlobSize;
};

struct StreamResult {
  uint64_t plaintext_size = 0;
  uint64_t sealed_size = 0;
  uint64_t frames = 0;
};

// Reads a byte range of a sealed file without decrypting the rest. Created by
// Envelope::OpenRandomAccess: the header is authenticated and the final frame verified at
// creation (so a truncated or extended file is refused up front). Holds the payload key until
// destroyed. ReadAt is thread safe (pread, per-call buffers).
class RangeReader {
 public:
  virtual ~RangeReader() = default;
  virtual uint64_t plaintext_size() const = 0;
  virtual const MessageHeader& header() const = 0;
  // Reads [offset, offset + out.size()) clipped to the plaintext; returns the bytes written.
  // OutOfRange when offset > plaintext_size(). On failure `out` is zeroed.
  [[nodiscard]] virtual absl::StatusOr<size_t> ReadAt(uint64_t offset,
                                                      absl::Span<uint8_t> out) const = 0;
};

class Envelope {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Envelope>> New(EnvelopeOptions options);
  ~Envelope();

  const EnvelopeOptions& options() const { return options_; }

  // ---- In memory ----
  [[nodiscard]] absl::StatusOr<std::string> Seal(absl::Span<const uint8_t> plaintext,
                                                 const EncryptionContext& context) const;
  [[nodiscard]] absl::StatusOr<std::string> Seal(std::string_view plaintext,
                                                 const EncryptionContext& context) const;
  // An upper bound on the sealed size (exact payload, header bounded by the options).
  size_t SealedSize(uint64_t plaintext_size, const EncryptionContext& context =
                                                 EncryptionContext::Empty()) const;
  // Seals into `out` (at least SealedSize bytes); returns the bytes written.
  [[nodiscard]] absl::StatusOr<size_t> SealInto(absl::Span<const uint8_t> plaintext,
                                                const EncryptionContext& context,
                                                absl::Span<uint8_t> out) const;

  // Opens a message whose context must equal `context`.
  [[nodiscard]] absl::StatusOr<std::string> Open(absl::Span<const uint8_t> sealed,
                                                 const EncryptionContext& context) const;
  [[nodiscard]] absl::StatusOr<std::string> Open(std::string_view sealed,
                                                 const EncryptionContext& context) const;
  // The exact plaintext size of a sealed message (from its header and length; unauthenticated).
  [[nodiscard]] static absl::StatusOr<uint64_t> PlaintextSize(absl::Span<const uint8_t> sealed);
  // Opens into `out` (at least PlaintextSize bytes); returns the bytes written. On failure the
  // whole of `out` that could have been written is zeroed.
  [[nodiscard]] absl::StatusOr<size_t> OpenInto(absl::Span<const uint8_t> sealed,
                                                const EncryptionContext& context,
                                                absl::Span<uint8_t> out) const;

  // ---- Streaming (constant memory: one frame in, one frame out, plus the header) ----
  [[nodiscard]] absl::StatusOr<StreamResult> SealStream(ByteSource& source, ByteSink& sink,
                                                        const EncryptionContext& context) const;
  // `expected_context` null: accept the header's context (subject to required_context).
  // Frames reach `sink` only after they verify; on failure the sink may hold a verified prefix.
  [[nodiscard]] absl::StatusOr<StreamResult> OpenStream(
      ByteSource& source, ByteSink& sink, const EncryptionContext* expected_context) const;

  // ---- Random access over a sealed file (pread) ----
  [[nodiscard]] absl::StatusOr<std::unique_ptr<RangeReader>> OpenRandomAccess(
      int fd, const EncryptionContext* expected_context) const;

  // ---- Re-wrap ----
  // Given a sealed message's header (the input may continue with the payload), returns a new
  // header with the same message id, suite, frame size, context, commitment and payload key but
  // the wrapped keys replaced by this envelope's primary + additional CMKs. Uses the target
  // provider's ReEncrypt when it is the provider that unwrapped the key and supports it, else
  // Encrypt of the unwrapped data key. The header tag is recomputed. `old_header_size` receives
  // where the payload starts in `sealed`.
  [[nodiscard]] absl::StatusOr<std::string> RewrapHeader(
      absl::Span<const uint8_t> sealed, const EncryptionContext* expected_context,
      size_t* old_header_size) const;

  // Parses and returns the header of a stream (reads at most kMaxHeaderSize bytes); no provider
  // call, nothing authenticated. `header_bytes` receives everything read: the header, possibly
  // followed by the first payload bytes (the payload starts at ParsedHeader::header_size).
  [[nodiscard]] static absl::StatusOr<ParsedHeader> ReadHeader(ByteSource& source,
                                                               std::string* header_bytes);

 private:
  struct Unwrapped;  // the keys of an opened header (envelope.cc)
  explicit Envelope(EnvelopeOptions options);

  [[nodiscard]] absl::Status CheckContextForSeal(const EncryptionContext& context) const;
  [[nodiscard]] absl::Status CheckHeaderPolicy(const MessageHeader& header,
                                               const EncryptionContext* expected) const;
  // Draws a message id, generates and wraps a data key into `data_key` (whose plaintext the
  // caller wipes), writes the header (tag included) over `header_bytes` and returns the keys.
  // The two buffers are the caller's so that Seal can reuse per-thread storage.
  // `plaintext_size` (nullopt = unknown) goes to the provider, whose cache counts it.
  [[nodiscard]] absl::StatusOr<MessageKeys> NewMessage(
      const EncryptionContext& context, std::optional<uint64_t> plaintext_size,
      std::array<uint8_t, kMessageIdSize>* message_id,
      GenerateDataKeyResponse* data_key, std::string* header_bytes) const;
  // Policy, unwrap, commitment, header tag. `keep_data_key` keeps the data key (rewrap).
  // `scratch` (optional) is a Decrypt response whose strings are reused across calls.
  [[nodiscard]] absl::StatusOr<Unwrapped> UnwrapHeader(const ParsedHeader& parsed,
                                                       absl::Span<const uint8_t> body,
                                                       const EncryptionContext* expected,
                                                       std::string_view operation,
                                                       bool keep_data_key,
                                                       DecryptResponse* scratch = nullptr) const;
  // OpenInto after the header was parsed (Open parses once, not twice).
  [[nodiscard]] absl::StatusOr<size_t> OpenParsedInto(const ParsedHeader& parsed,
                                                       absl::Span<const uint8_t> sealed,
                                                       const EncryptionContext& context,
                                                       absl::Span<uint8_t> out,
                                                       DecryptResponse* scratch) const;
  void Audit(std::string_view operation, std::string_view kms_operation,
             std::string_view provider_id, std::string_view key_id,
             std::string_view key_version_id, std::string_view request_id, bool from_cache,
             bool ok, absl::Span<const uint8_t> message_id) const;

  EnvelopeOptions options_;
  std::vector<std::shared_ptr<KeyProvider>> open_providers_;
};

}  // namespace envelope
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_ENVELOPE_ENVELOPE_H_
