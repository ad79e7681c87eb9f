#include "kms_envelope/envelope/envelope.h"

#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "kms_envelope/envelope/envelope_internal.h"
#include "kms_envelope/envelope/frames.h"
#include "kms_envelope/envelope/message_keys.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/internal/random.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace envelope {
namespace {

using internal::Av;

absl::Span<const uint8_t> Bytes(const std::string& s) { return internal::Bytes(s); }

// Per-thread buffers for sealing in memory: after a thread's first message, generating a data
// key and writing the header reuse their storage instead of allocating (the response's strings,
// the locked data-key buffer, the header). The data key is wiped as soon as the message keys are
// derived and again when the scope ends; its locked buffer stays allocated for the next message.
struct SealBuffers {
  GenerateDataKeyResponse data_key;
  std::string header;
  bool busy = false;
  void Release() {
    SecretBytes& key = data_key.plaintext;
    if (!key.empty()) sodium_memzero(key.mutable_data(), key.size());
  }
};

// Per-thread buffers for opening in memory: the parsed header's strings and the Decrypt
// response's ids keep their capacity from one message to the next. The unwrapped data key is
// released, and the header's context dropped, when the scope ends.
struct OpenBuffers {
  ParsedHeader parsed;
  DecryptResponse decrypt;
  bool busy = false;
  void Release() {
    decrypt.plaintext.Clear();
    parsed.header.context = EncryptionContext();
  }
};

// The thread's Buffers, or fresh ones when they are in use further up this thread's stack (a
// provider or audit hook that seals or opens through an Envelope while we are in one).
template <typename Buffers>
class ScopedThreadBuffers {
 public:
  ScopedThreadBuffers() : buffers_(Slot().busy ? &fallback_ : &Slot()) { buffers_->busy = true; }
  ~ScopedThreadBuffers() {
    buffers_->Release();
    buffers_->busy = false;
  }
  ScopedThreadBuffers(const ScopedThreadBuffers&) = delete;
  ScopedThreadBuffers& operator=(const ScopedThreadBuffers&) = delete;
  Buffers& operator*() { return *buffers_; }
  Buffers* operator->() { return buffers_; }

 private:
  static Buffers& Slot() {
    thread_local Buffers buffers;
    return buffers;
  }
  Buffers fallback_;
  Buffers* buffers_;
};
using ScopedSealBuffers = ScopedThreadBuffers<SealBuffers>;
using ScopedOpenBuffers = ScopedThreadBuffers<OpenBuffers>;

// Writes header || frames of a whole message into `out`; returns the bytes written.
absl::StatusOr<size_t> WriteMessage(const MessageKeys& keys,
                                    absl::Span<const uint8_t> message_id, const std::string& header,
                                    absl::Span<const uint8_t> plaintext, uint32_t frame_size,
                                    absl::Span<uint8_t> out) {
  if (out.size() < header.size() + PayloadSize(plaintext.size(), frame_size)) {
    return absl::ResourceExhaustedError("output buffer too small for this header");
  }
  std::memcpy(out.data(), header.data(), header.size());
  KMS_ASSIGN_OR_RETURN(size_t payload,
                       SealFrames(keys, message_id, frame_size, 0, plaintext,
                                  /*ends_message=*/true, out.subspan(header.size())));
  return header.size() + payload;
}

}  // namespace

Envelope::Envelope(EnvelopeOptions options) : options_(std::move(options)) {}
Envelope::~Envelope() = default;

absl::StatusOr<std::unique_ptr<Envelope>> Envelope::New(EnvelopeOptions options) {
  if (!IsKnownSuite(static_cast<uint8_t>(options.suite))) {
    return KmsError(kms_code::kInvalidParameter, "unknown suite");
  }
  if (options.frame_size < kMinFrameSize || options.frame_size > kMaxFrameSize) {
    return KmsError(kms_code::kInvalidParameter,
                    absl::StrCat("frame size ", options.frame_size, " outside ", kMinFrameSize,
                                 "..", kMaxFrameSize));
  }
  static_assert(kMaxFrameSize <= internal::kAesGcmMaxMessageSize, "frame exceeds GCM limit");
  if (1 + options.additional.size() > kMaxWrappedKeys) {
    return KmsError(kms_code::kInvalidParameter,
                    absl::StrCat("at most ", kMaxWrappedKeys, " wrapping keys"));
  }
  if (options.primary.provider == nullptr && !options.additional.empty()) {
    return KmsError(kms_code::kInvalidParameter, "additional keys need a primary key");
  }
  if (options.primary.provider != nullptr && options.primary.key_id.empty()) {
    return KmsError(kms_code::kMissingParameter, "the primary wrapping key needs a key id");
  }
  for (const WrappingKey& k : options.additional) {
    if (k.provider == nullptr || k.key_id.empty()) {
      return KmsError(kms_code::kMissingParameter, "an additional key needs a provider and key id");
    }
  }
  for (const auto& p : options.decrypt_providers) {
    if (p == nullptr) return KmsError(kms_code::kInvalidParameter, "null decrypt provider");
  }
  if (options.max_blob_size_for_sizing == 0 ||
      options.max_blob_size_for_sizing > kMaxWrappedBlobSize) {
    return KmsError(kms_code::kInvalidParameter, "max_blob_size_for_sizing out of range");
  }
  auto env = std::unique_ptr<Envelope>(new Envelope(std::move(options)));
  auto add = [&](const std::shared_ptr<KeyProvider>& p) {
    if (p == nullptr) return;
    for (const auto& q : env->open_providers_) {
      if (q.get() == p.get()) return;
    }
    env->open_providers_.push_back(p);
  };
  add(env->options_.primary.provider);
  for (const auto& k : env->options_.additional) add(k.provider);
  for (const auto& p : env->options_.decrypt_providers) add(p);
  if (env->open_providers_.empty()) {
    return KmsError(kms_code::kMissingParameter, "an envelope needs at least one provider");
  }
  return env;
}

void Envelope::Audit(std::string_view operation, std::string_view kms_operation,
                     std::string_view provider_id, std::string_view key_id,
                     std::string_view key_version_id, std::string_view request_id,
                     bool from_cache, bool ok, absl::Span<const uint8_t> message_id) const {
  if (!options_.audit_hook) return;
  std::string id_hex = internal::HexEncode(message_id);
  AuditEvent event;
  event.operation = operation;
  event.kms_operation = kms_operation;
  event.provider_id = provider_id;
  event.key_id = key_id;
  event.key_version_id = key_version_id;
  event.request_id = request_id;
  event.from_cache = from_cache;
  event.ok = ok;
  event.message_id_hex = id_hex;
  options_.audit_hook(event);
}

absl::Status Envelope::CheckContextForSeal(const EncryptionContext& context) const {
  if (!context.Contains(options_.required_context)) {
    return KmsError(kms_code::kInvalidParameter,
                    "encryption context lacks a pair the envelope requires");
  }
  return absl::OkStatus();
}

absl::Status Envelope::CheckHeaderPolicy(const MessageHeader& header,
                                         const EncryptionContext* expected) const {
  if (expected != nullptr && header.context != *expected) {
    return AuthFailed("encryption context does not match the message's");
  }
  if (!header.context.Contains(options_.required_context)) {
    return KmsError(kms_code::kNoPermission,
                    "message encryption context lacks a pair the envelope requires");
  }
  return absl::OkStatus();
}

absl::StatusOr<MessageKeys> Envelope::NewMessage(const EncryptionContext& context,
                                                 std::optional<uint64_t> plaintext_size,
                                                 std::array<uint8_t, kMessageIdSize>* message_id,
                                                 GenerateDataKeyResponse* data_key,
                                                 std::string* header_bytes) const {
  if (options_.primary.provider == nullptr) {
    return KmsError(kms_code::kMissingParameter, "this envelope has no primary key to seal with");
  }
  KMS_RETURN_IF_ERROR(CheckContextForSeal(context));
  internal::FillRandom(absl::MakeSpan(*message_id));

  GenerateDataKeyRequest req;
  req.key_id = options_.primary.key_id;
  req.key_spec = "AES_256";
  req.number_of_bytes = static_cast<int64_t>(kDataKeySize);
  req.encryption_context = &context;
  req.message_bytes = plaintext_size;
  GenerateDataKeyResponse& dk = *data_key;
  // A reused response must not report a previous call's ids if this call fails.
  dk.key_id.clear();
  dk.key_version_id.clear();
  dk.request_id.clear();
  dk.from_cache = false;
  KeyProvider& primary = *options_.primary.provider;
  absl::Status s = primary.GenerateDataKeyInto(req, &dk);
  Audit("seal", "GenerateDataKey", primary.provider_id(), s.ok() ? dk.key_id : options_.primary.key_id,
        s.ok() ? std::string_view(dk.key_version_id) : std::string_view(), dk.request_id,
        dk.from_cache, s.ok(), *message_id);
  KMS_RETURN_IF_ERROR(s);
  if (dk.plaintext.size() != kDataKeySize) {
    return absl::InternalError("provider returned a data key of the wrong size");
  }
  // The header is written from views of the responses (nothing is copied); extra responses are
  // reserved up front so the views into them stay put.
  // Inline room for the usual few keys: a kMaxWrappedKeys array would be zeroed on every call.
  absl::InlinedVector<WrappedKeyView, 4> views;
  views.push_back(WrappedKeyView{primary.provider_id(), dk.key_id, dk.key_version_id,
                                 dk.ciphertext_blob});
  std::vector<EncryptResponse> extra_responses;
  extra_responses.reserve(options_.additional.size());
  for (const WrappingKey& extra : options_.additional) {
    EncryptRequest ereq;
    ereq.key_id = extra.key_id;
    ereq.plaintext = dk.plaintext.span();
    ereq.encryption_context = &context;
    absl::StatusOr<EncryptResponse> er = extra.provider->Encrypt(ereq);
    Audit("seal", "Encrypt", extra.provider->provider_id(), er.ok() ? er->key_id : extra.key_id,
          er.ok() ? std::string_view(er->key_version_id) : std::string_view(),
          er.ok() ? std::string_view(er->request_id) : std::string_view(), false, er.ok(),
          *message_id);
    if (!er.ok()) return er.status();
    const EncryptResponse& r = extra_responses.emplace_back(*std::move(er));
    views.push_back(WrappedKeyView{extra.provider->provider_id(), r.key_id, r.key_version_id,
                                   r.ciphertext_blob});
  }
  KMS_ASSIGN_OR_RETURN(MessageKeys keys,
                       DeriveMessageKeys(kFormatVersion, options_.suite, dk.plaintext.span(),
                                         *message_id));
  // The data key is not needed past this point (the caller's buffer keeps its storage).
  sodium_memzero(dk.plaintext.mutable_data(), dk.plaintext.size());
  HeaderFields fields;
  fields.version = kFormatVersion;
  fields.suite = options_.suite;
  fields.frame_size = options_.frame_size;
  fields.message_id = absl::MakeConstSpan(*message_id);
  fields.wrapped_keys = absl::MakeConstSpan(views);
  fields.context = &context;
  fields.commitment = absl::MakeConstSpan(keys.commitment);
  KMS_RETURN_IF_ERROR(ValidateHeaderFields(fields));
  SerializeHeaderBodyInto(fields, header_bytes);
  uint8_t tag[kHeaderTagSize];
  KMS_RETURN_IF_ERROR(ComputeHeaderTag(keys, Bytes(*header_bytes), absl::MakeSpan(tag)));
  header_bytes->append(reinterpret_cast<const char*>(tag), kHeaderTagSize);
  return keys;
}

absl::StatusOr<Envelope::Unwrapped> Envelope::UnwrapHeader(const ParsedHeader& parsed,
                                                           absl::Span<const uint8_t> body,
                                                           const EncryptionContext* expected,
                                                           std::string_view operation,
                                                           bool keep_data_key,
                                                           DecryptResponse* scratch) const {
  const MessageHeader& h = parsed.header;
  KMS_RETURN_IF_ERROR(CheckHeaderPolicy(h, expected));
  auto allowed = [&](const std::string& key_id) {
    if (options_.allowed_key_ids.empty()) return true;
    return std::find(options_.allowed_key_ids.begin(), options_.allowed_key_ids.end(), key_id) !=
           options_.allowed_key_ids.end();
  };
  absl::Status last_error;
  bool tried = false;
  DecryptResponse local_response;
  DecryptResponse& resp = scratch != nullptr ? *scratch : local_response;
  for (size_t i = 0; i < h.wrapped_keys.size(); ++i) {
    const WrappedKey& wk = h.wrapped_keys[i];
    if (!allowed(wk.key_id)) continue;
    for (const auto& provider : open_providers_) {
      if (provider->provider_id() != wk.provider_id) continue;
      tried = true;
      DecryptRequest req;
      req.ciphertext_blob = Bytes(wk.ciphertext_blob);
      req.encryption_context = &h.context;
      resp.key_id.clear();
      resp.key_version_id.clear();
      resp.request_id.clear();
      resp.from_cache = false;
      absl::Status s = provider->DecryptInto(req, &resp);
      Audit(operation, "Decrypt", provider->provider_id(), s.ok() ? resp.key_id : wk.key_id,
            s.ok() ? std::string_view(resp.key_version_id) : std::string_view(), resp.request_id,
            resp.from_cache, s.ok(),
            h.message_id);
      if (!s.ok()) {
        last_error = s;
        continue;
      }
      if (resp.key_id != wk.key_id) {
        // The blob was made by a CMK other than the one the header names: the allow-list was
        // checked against the header, so refuse it.
        resp.plaintext.Clear();
        return KmsError(kms_code::kNoPermission,
                        "wrapped key was unwrapped by a CMK other than the one its header names");
      }
      absl::StatusOr<MessageKeys> keys =
          DeriveMessageKeys(h.version, h.suite, resp.plaintext.span(), h.message_id);
      if (!keys.ok()) {
        resp.plaintext.Clear();
        return AuthFailed("unwrapped data key has the wrong size");
      }
      KMS_RETURN_IF_ERROR(VerifyHeader(*keys, parsed, body));
      Unwrapped out{*std::move(keys), SecretBytes(), provider.get(), i};
      if (keep_data_key) {
        out.data_key = std::move(resp.plaintext);
      } else {
        resp.plaintext.Clear();
      }
      return out;
    }
  }
  if (!tried) {
    return KmsError(kms_code::kNoPermission,
                    "no wrapped key in the message is both allowed and served by a configured provider");
  }
  return last_error;
}

// ---------------------------------------------------------------- in memory

absl::StatusOr<std::string> Envelope::Seal(absl::Span<const uint8_t> plaintext,
                                           const EncryptionContext& context) const {
  if (!PlaintextSizeAllowed(plaintext.size(), options_.frame_size)) {
    return KmsError(kms_code::kInvalidParameter, "plaintext too large for this frame size");
  }
  std::array<uint8_t, kMessageIdSize> message_id;
  ScopedSealBuffers buffers;
  KMS_ASSIGN_OR_RETURN(MessageKeys keys,
                       NewMessage(context, plaintext.size(), &message_id, &buffers->data_key,
                                  &buffers->header));
  std::string out(buffers->header.size() + PayloadSize(plaintext.size(), options_.frame_size),
                  '\0');
  KMS_RETURN_IF_ERROR(WriteMessage(keys, message_id, buffers->header, plaintext,
                                   options_.frame_size,
                                   absl::MakeSpan(reinterpret_cast<uint8_t*>(out.data()),
                                                  out.size()))
                          .status());
  return out;
}

absl::StatusOr<std::string> Envelope::Seal(std::string_view plaintext,
                                           const EncryptionContext& context) const {
  return Seal(internal::Bytes(plaintext), context);
}

size_t Envelope::SealedSize(uint64_t plaintext_size, const EncryptionContext& context) const {
  size_t header = kFixedPrefixSize + 4 + context.Canonical().size() + kCommitmentSize +
                  kHeaderTagSize;
  auto entry = [&](const WrappingKey& k) {
    if (k.provider == nullptr) return size_t{0};
    return 16 + k.provider->provider_id().size() + kMaxKeyIdSize + kMaxKeyVersionIdSize +
           options_.max_blob_size_for_sizing;
  };
  header += entry(options_.primary);
  for (const auto& k : options_.additional) header += entry(k);
  return header + PayloadSize(plaintext_size, options_.frame_size);
}

absl::StatusOr<size_t> Envelope::SealInto(absl::Span<const uint8_t> plaintext,
                                          const EncryptionContext& context,
                                          absl::Span<uint8_t> out) const {
  if (!PlaintextSizeAllowed(plaintext.size(), options_.frame_size)) {
    return KmsError(kms_code::kInvalidParameter, "plaintext too large for this frame size");
  }
  // Refused before a data key is spent on a message that cannot fit.
  if (out.size() < PayloadSize(plaintext.size(), options_.frame_size)) {
    return absl::ResourceExhaustedError("output buffer too small");
  }
  std::array<uint8_t, kMessageIdSize> message_id;
  ScopedSealBuffers buffers;
  KMS_ASSIGN_OR_RETURN(MessageKeys keys,
                       NewMessage(context, plaintext.size(), &message_id, &buffers->data_key,
                                  &buffers->header));
  return WriteMessage(keys, message_id, buffers->header, plaintext, options_.frame_size, out);
}

absl::Status ParseSealedHeaderInto(absl::Span<const uint8_t> sealed,
                                   const EncryptionContext* expected, ParsedHeader* out) {
  absl::Status s = ParseHeaderInto(sealed, expected, out);
  if (absl::IsOutOfRange(s)) return AuthFailed("sealed message is truncated");
  return s;
}

absl::StatusOr<ParsedHeader> ParseSealedHeader(absl::Span<const uint8_t> sealed,
                                               const EncryptionContext* expected) {
  ParsedHeader parsed;
  KMS_RETURN_IF_ERROR(ParseSealedHeaderInto(sealed, expected, &parsed));
  return parsed;
}

absl::StatusOr<uint64_t> Envelope::PlaintextSize(absl::Span<const uint8_t> sealed) {
  KMS_ASSIGN_OR_RETURN(ParsedHeader parsed, ParseSealedHeader(sealed));
  return PlaintextSizeForPayload(sealed.size() - parsed.header_size, parsed.header.frame_size);
}

absl::StatusOr<size_t> Envelope::OpenInto(absl::Span<const uint8_t> sealed,
                                          const EncryptionContext& context,
                                          absl::Span<uint8_t> out) const {
  ScopedOpenBuffers buffers;
  KMS_RETURN_IF_ERROR(ParseSealedHeaderInto(sealed, &context, &buffers->parsed));
  return OpenParsedInto(buffers->parsed, sealed, context, out, &buffers->decrypt);
}

absl::StatusOr<size_t> Envelope::OpenParsedInto(const ParsedHeader& parsed,
                                                absl::Span<const uint8_t> sealed,
                                                const EncryptionContext& context,
                                                absl::Span<uint8_t> out,
                                                DecryptResponse* scratch) const {
  const uint32_t f = parsed.header.frame_size;
  KMS_ASSIGN_OR_RETURN(uint64_t size,
                       PlaintextSizeForPayload(sealed.size() - parsed.header_size, f));
  if (out.size() < size) return absl::ResourceExhaustedError("output buffer too small");
  KMS_ASSIGN_OR_RETURN(Unwrapped u, UnwrapHeader(parsed, sealed.first(parsed.body_size), &context,
                                                 "open", false, scratch));
  size_t verified = 0;
  absl::Status s = OpenFrames(u.keys, parsed.header.message_id, f, 0,
                              sealed.subspan(parsed.header_size), /*ends_message=*/true,
                              out.first(size), &verified);
  if (!s.ok()) {
    sodium_memzero(out.data(), size);
    return s;
  }
  return static_cast<size_t>(size);
}

absl::StatusOr<std::string> Envelope::Open(absl::Span<const uint8_t> sealed,
                                           const EncryptionContext& context) const {
  ScopedOpenBuffers buffers;
  const ParsedHeader& parsed = buffers->parsed;
  KMS_RETURN_IF_ERROR(ParseSealedHeaderInto(sealed, &context, &buffers->parsed));
  KMS_ASSIGN_OR_RETURN(uint64_t size,
                       PlaintextSizeForPayload(sealed.size() - parsed.header_size,
                                               parsed.header.frame_size));
  std::string out(size, '\0');
  KMS_ASSIGN_OR_RETURN(size_t n, OpenParsedInto(parsed, sealed, context,
                                                absl::MakeSpan(reinterpret_cast<uint8_t*>(out.data()),
                                                               out.size()),
                                                &buffers->decrypt));
  out.resize(n);
  return out;
}

absl::StatusOr<std::string> Envelope::Open(std::string_view sealed,
                                           const EncryptionContext& context) const {
  return Open(internal::Bytes(sealed), context);
}

}  // namespace envelope
}  // namespace kms_envelope
