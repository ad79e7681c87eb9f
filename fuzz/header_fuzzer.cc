// Fuzz target: the envelope header parser (kms_envelope/envelope/format.h).
//
// Invariants checked on every input:
// - ParseHeader never crashes, never allocates beyond the named maxima (libFuzzer's
//   -malloc_limit_mb catches an attacker-sized allocation), and fails only with OutOfRange
//   (input ends inside a header: every prefix of a valid header) or InvalidCiphertext.
// - An accepted header is one the sealer could have written: ValidateHeader accepts it, and
//   SerializeHeader reproduces exactly the consumed prefix (body_size/header_size included).
// - OutOfRange is reported only for a true prefix: appending bytes never turns an
//   InvalidCiphertext into success.
// - Envelope::PlaintextSize agrees with the payload geometry functions.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "fuzz/fuzz_check.h"
#include "kms_envelope/envelope/envelope.h"
#include "kms_envelope/envelope/format.h"
#include "kms_envelope/kms_error.h"

using kms_envelope::envelope::Envelope;
using kms_envelope::envelope::ParsedHeader;
using kms_envelope::envelope::ParseHeader;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace env = kms_envelope::envelope;
  absl::Span<const uint8_t> input(data, size);
  absl::StatusOr<ParsedHeader> parsed = ParseHeader(input);
  if (!parsed.ok()) {
    const absl::StatusCode code = parsed.status().code();
    FUZZ_CHECK(code == absl::StatusCode::kOutOfRange ||
               kms_envelope::GetKmsErrorCode(parsed.status()) ==
                   kms_envelope::kms_code::kInvalidCiphertext);
    if (code == absl::StatusCode::kOutOfRange) {
      // Only a prefix may be "truncated"; it can never be longer than the largest header.
      FUZZ_CHECK(size < env::kMaxHeaderSize);
    }
    // Whatever the parser says, the size query must fail too (it parses the same header).
    FUZZ_CHECK(!Envelope::PlaintextSize(input).ok());
    return 0;
  }
  const env::MessageHeader& h = parsed->header;
  FUZZ_CHECK(parsed->header_size == parsed->body_size + env::kHeaderTagSize);
  FUZZ_CHECK(parsed->header_size <= size);
  FUZZ_CHECK(parsed->header_size <= env::kMaxHeaderSize);
  FUZZ_CHECK(env::ValidateHeader(h).ok());
  FUZZ_CHECK(env::SerializedHeaderSize(h) == parsed->header_size);
  const std::string body = env::SerializeHeaderBody(h);
  FUZZ_CHECK(body.size() == parsed->body_size);
  const std::string full = env::SerializeHeader(h);
  FUZZ_CHECK(full.size() == parsed->header_size);
  FUZZ_CHECK(std::memcmp(full.data(), data, full.size()) == 0);

  // Every proper prefix of an accepted header is "truncated", never "malformed" nor accepted.
  // (Checked at a few cut points: all of them would be quadratic.)
  for (size_t cut : {size_t{0}, size_t{3}, size_t{5}, parsed->body_size, parsed->header_size - 1}) {
    if (cut >= parsed->header_size) continue;
    absl::StatusOr<ParsedHeader> prefix = ParseHeader(input.subspan(0, cut));
    FUZZ_CHECK(!prefix.ok() && prefix.status().code() == absl::StatusCode::kOutOfRange);
  }

  // Payload geometry: the size query agrees with PlaintextSizeForPayload, and a plaintext of
  // that size has exactly this payload size.
  const uint64_t payload = size - parsed->header_size;
  absl::StatusOr<uint64_t> plain = env::PlaintextSizeForPayload(payload, h.frame_size);
  absl::StatusOr<uint64_t> via_envelope = Envelope::PlaintextSize(input);
  FUZZ_CHECK(plain.ok() == via_envelope.ok());
  if (plain.ok()) {
    FUZZ_CHECK(*plain == *via_envelope);
    FUZZ_CHECK(env::PayloadSize(*plain, h.frame_size) == payload);
    FUZZ_CHECK(*plain <= payload);
  }
  return 0;
}
