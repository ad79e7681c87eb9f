// Fuzz target: Envelope open paths on arbitrary bytes, against the fixed TEST-ONLY local KMS
// (fuzz_store.h). The seed corpus holds real messages sealed under it (fuzz/make_corpus.cc).
//
// Invariants:
// - Open (in memory, expected context = SeedContext()), OpenStream (context taken from the
//   header) and OpenInto never crash and never allocate beyond the format's bounds.
// - Any success returns exactly what was sealed: the plaintext passes the self-checking oracle,
//   its size equals Envelope::PlaintextSize, and the in-memory and streaming opens agree.
// - OpenInto leaves no plaintext in its output on failure (bytes untouched or zeroed).
// - Allow-list: an envelope that allows only kSecondKeyId opens only messages that carry a
//   wrapped key for kSecondKeyId, and when the provider unwrapped a blob with another CMK (seen
//   through the audit hook) the open fails. Note what the allow-list does NOT give: the header's
//   key id is unauthenticated and the local provider picks the CMK from the blob's version id, so
//   a forged header naming an allowed CMK around a blob of another CMK does make the provider
//   run Decrypt under that other CMK; the envelope then refuses and wipes the result
//   (Forbidden.NoPermission). The fuzzer found this in its first minute; docs/security.md.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_store.h"
#include "kms_envelope/envelope/byte_stream.h"
#include "kms_envelope/envelope/envelope.h"
#include "kms_envelope/envelope/format.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/kms_error.h"

namespace {

using namespace kms_envelope;  // NOLINT: a fuzz target, not library code
using envelope::Envelope;

std::unique_ptr<Envelope> g_open;
std::unique_ptr<Envelope> g_allow_second;
bool g_foreign_key_used = false;  // a non-allowed CMK unwrapped a blob during this input

// Larger plaintexts are only opened by the allocating paths (bounded by the input size anyway).
constexpr uint64_t kMaxOpenIntoSize = uint64_t{1} << 20;

int g_deep = 0;  // inputs that reached the deep path (KmsFuzzReplayCheck)

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::shared_ptr<KeyProvider> provider = fuzz::OpenProvider(fuzz::MakeFixedStoreDir());
  envelope::EnvelopeOptions options;
  options.decrypt_providers = {provider};
  g_open = *Envelope::New(options);
  options.allowed_key_ids = {std::string(fuzz::kSecondKeyId)};
  options.audit_hook = [](const envelope::AuditEvent& e) {
    if (e.kms_operation == "Decrypt" && e.ok && e.key_id != fuzz::kSecondKeyId) {
      g_foreign_key_used = true;
    }
  };
  g_allow_second = *Envelope::New(options);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::Span<const uint8_t> input(data, size);
  absl::StatusOr<uint64_t> plaintext_size = Envelope::PlaintextSize(input);

  absl::StatusOr<std::string> opened = g_open->Open(input, fuzz::SeedContext());
  if (opened.ok()) {
    ++g_deep;
    FUZZ_CHECK(fuzz::IsSelfChecking(internal::Bytes(*opened)));
    FUZZ_CHECK(plaintext_size.ok() && *plaintext_size == opened->size());
  }

  std::string streamed;
  envelope::SpanSource source(input);
  envelope::StringSink sink(&streamed);
  auto stream = g_open->OpenStream(source, sink, nullptr);
  if (stream.ok()) {
    FUZZ_CHECK(fuzz::IsSelfChecking(internal::Bytes(streamed)));
    FUZZ_CHECK(stream->plaintext_size == streamed.size());
    auto parsed = envelope::ParseHeader(input);
    FUZZ_CHECK(parsed.ok());
    // Same message, same context: the in-memory open must agree.
    if (parsed->header.context == fuzz::SeedContext()) {
      FUZZ_CHECK(opened.ok() && *opened == streamed);
    }
  }
  if (opened.ok()) FUZZ_CHECK(stream.ok() && streamed == *opened);

  if (plaintext_size.ok() && *plaintext_size <= kMaxOpenIntoSize) {
    std::vector<uint8_t> out(*plaintext_size, 0xee);
    auto n = g_open->OpenInto(input, fuzz::SeedContext(), absl::MakeSpan(out));
    if (n.ok()) {
      FUZZ_CHECK(opened.ok() && *n == opened->size());
      FUZZ_CHECK(std::equal(out.begin(), out.begin() + *n,
                            reinterpret_cast<const uint8_t*>(opened->data())));
    } else {
      FUZZ_CHECK(!opened.ok());
      // No plaintext left behind: each byte is untouched (0xee) or wiped (0).
      FUZZ_CHECK(std::all_of(out.begin(), out.end(), [](uint8_t b) { return b == 0 || b == 0xee; }));
    }
  }

  g_foreign_key_used = false;
  auto allowed = g_allow_second->Open(input, fuzz::SeedContext());
  if (g_foreign_key_used) {
    FUZZ_CHECK(!allowed.ok() &&
               GetKmsErrorCode(allowed.status()) == kms_code::kNoPermission);
  }
  if (allowed.ok()) {
    FUZZ_CHECK(opened.ok() && *allowed == *opened);
    auto parsed = envelope::ParseHeader(input);
    FUZZ_CHECK(parsed.ok());
    bool has_second = false;
    for (const auto& w : parsed->header.wrapped_keys) has_second |= w.key_id == fuzz::kSecondKeyId;
    FUZZ_CHECK(has_second);
  }
  return 0;
}

extern "C" int KmsFuzzReplayCheck() {
  if (g_deep >= 6) return 0;
  std::fprintf(stderr, "only %d seeds opened (expected at least 6)\n", g_deep);
  return 1;
}
