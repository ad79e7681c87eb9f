#include "kms_envelope/internal/uuid.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cstring>

#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/internal/random.h"

namespace kms_envelope {
namespace internal {
namespace {

// 32 hex digits of high || low, high nibble first, with the version and variant bits set.
void HexDigits(uint64_t high, uint64_t low, UuidCase hex_case, char hex[32]) {
#if defined(__SSE2__)
  // SSE2 (every x86-64): the 16 bytes straight from the two integers (no round trip through
  // memory), version and variant bits set with masks, nibbles split and interleaved, 0-9 / 10-15
  // mapped to ASCII without a table. RequestIds are formatted on every hot-path call.
  const __m128i keep =
      _mm_setr_epi8(-1, -1, -1, -1, -1, -1, 0x0f, -1, 0x3f, -1, -1, -1, -1, -1, -1, -1);
  const __m128i set =
      _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0x40, 0, static_cast<char>(0x80), 0, 0, 0, 0, 0, 0, 0);
  const __m128i bytes = _mm_set_epi64x(static_cast<long long>(__builtin_bswap64(low)),
                                       static_cast<long long>(__builtin_bswap64(high)));
  const __m128i v = _mm_or_si128(_mm_and_si128(bytes, keep), set);
  const __m128i low_mask = _mm_set1_epi8(0x0f);
  const __m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), low_mask);
  const __m128i lo = _mm_and_si128(v, low_mask);
  const char letter_base = hex_case == UuidCase::kUpper ? 'A' : 'a';
  const __m128i letter_offset = _mm_set1_epi8(static_cast<char>(letter_base - '0' - 10));
  auto ascii = [&](__m128i n) {
    const __m128i letter = _mm_cmpgt_epi8(n, _mm_set1_epi8(9));
    return _mm_add_epi8(_mm_add_epi8(n, _mm_set1_epi8('0')), _mm_and_si128(letter, letter_offset));
  };
  _mm_storeu_si128(reinterpret_cast<__m128i*>(hex), ascii(_mm_unpacklo_epi8(hi, lo)));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(hex + 16), ascii(_mm_unpackhi_epi8(hi, lo)));
#else
  uint8_t b[kUuidBytes];
  StoreBigEndian64(high, b);
  StoreBigEndian64(low, b + 8);
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);
  const char* digits = hex_case == UuidCase::kUpper ? "0123456789ABCDEF" : "0123456789abcdef";
  for (size_t i = 0; i < kUuidBytes; ++i) {
    hex[2 * i] = digits[b[i] >> 4];
    hex[2 * i + 1] = digits[b[i] & 15];
  }
#endif
}

}  // namespace

void FormatUuidInto(uint64_t high, uint64_t low, std::string* out, UuidCase hex_case) {
  if (out->size() != kUuidSize) out->resize(kUuidSize);  // a reused response already has it
  char hex[32];
  HexDigits(high, low, hex_case, hex);
  char* p = out->data();
  std::memcpy(p, hex, 8);
  p[8] = '-';
  std::memcpy(p + 9, hex + 8, 4);
  p[13] = '-';
  std::memcpy(p + 14, hex + 12, 4);
  p[18] = '-';
  std::memcpy(p + 19, hex + 16, 4);
  p[23] = '-';
  std::memcpy(p + 24, hex + 20, 12);
}

void FormatUuidInto(absl::Span<const uint8_t> bytes, std::string* out, UuidCase hex_case) {
  uint8_t b[kUuidBytes] = {};
  std::memcpy(b, bytes.data(), std::min(bytes.size(), kUuidBytes));
  FormatUuidInto(LoadBigEndian64(b), LoadBigEndian64(b + 8), out, hex_case);
}

void RandomUuidInto(std::string* out, UuidCase hex_case) {
  uint8_t b[kUuidBytes];
  FillRandom(absl::MakeSpan(b));
  FormatUuidInto(b, out, hex_case);
}

std::string RandomUuid(UuidCase hex_case) {
  std::string out;
  RandomUuidInto(&out, hex_case);
  return out;
}

void UniqueUuidInto(std::string* out, UuidCase hex_case) {
  const UniqueId id = NextUniqueId();
  FormatUuidInto(id.high, id.low, out, hex_case);
}

#if defined(__SSE2__)
namespace {
// Bit i set when byte i of `chars` is right: '-' where `dashes` is set, a hex digit elsewhere.
// Bytes >= 0x80 are negative in the signed compares, so they are neither.
int UuidBytesOk(const char* chars, __m128i dashes) {
  const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(chars));
  const __m128i lower = _mm_or_si128(c, _mm_set1_epi8(0x20));
  const __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(c, _mm_set1_epi8('0' - 1)),
                                      _mm_cmplt_epi8(c, _mm_set1_epi8('9' + 1)));
  const __m128i letter = _mm_and_si128(_mm_cmpgt_epi8(lower, _mm_set1_epi8('a' - 1)),
                                       _mm_cmplt_epi8(lower, _mm_set1_epi8('f' + 1)));
  const __m128i dash = _mm_cmpeq_epi8(c, _mm_set1_epi8('-'));
  return _mm_movemask_epi8(_mm_or_si128(_mm_and_si128(dashes, dash),
                                        _mm_andnot_si128(dashes, _mm_or_si128(digit, letter))));
}
}  // namespace
#endif

bool IsUuid(std::string_view s) {
  if (s.size() != kUuidSize) return false;
#if defined(__SSE2__)
  // Decrypt checks the id of every blob it parses: three overlapping 16-byte blocks (0, 16,
  // 20) instead of a branch per character. Dashes at 8, 13 | 18, 23 (2, 7) | 23 (3).
  const __m128i d0 = _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, -1, 0, 0, 0, 0, -1, 0, 0);
  const __m128i d1 = _mm_setr_epi8(0, 0, -1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m128i d2 = _mm_setr_epi8(0, 0, 0, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  return (UuidBytesOk(s.data(), d0) & UuidBytesOk(s.data() + 16, d1) &
          UuidBytesOk(s.data() + 20, d2)) == 0xffff;
#else
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
#endif
}

}  // namespace internal
}  // namespace kms_envelope
