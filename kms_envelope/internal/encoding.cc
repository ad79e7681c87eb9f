#include "kms_envelope/internal/encoding.h"

#include <sodium.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__)
#include <tmmintrin.h>
#endif

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "kms_envelope/internal/wipe.h"

namespace kms_envelope {
namespace internal {
namespace {

#if defined(__x86_64__)
// SSSE3 unless the CPU lacks it or the environment variable KMS_ENVELOPE_BASE64_PORTABLE is set
// (to anything): then the portable code runs, which is how its tests reach it on this machine.
bool HasSsse3() {
  static const bool has =
      __builtin_cpu_supports("ssse3") && std::getenv("KMS_ENVELOPE_BASE64_PORTABLE") == nullptr;
  return has;
}

// All ones in the last `n` (0..16) of the 16 byte lanes: where padding goes, in a block of text.
inline __m128i LastLanes(size_t n) {
  const __m128i lanes = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  return _mm_cmpgt_epi8(lanes, _mm_set1_epi8(static_cast<char>(15 - static_cast<int>(n))));
}

// One step of W. Mula and D. Lemire's SSE decoder ("Faster Base64 Encoding and Decoding Using
// AVX2 Instructions", the SSE variant, with its bitmask validation): 16 characters into 12
// bytes (lanes 0..11 of `*bytes`), in registers, no memory lookup indexed by the data. False
// when a character is outside the alphabet ('=' and bytes >= 0x80 included).
__attribute__((target("ssse3"), always_inline)) inline bool DecodeBlockSsse3(__m128i in,
                                                                              __m128i* bytes) {
  // Valid characters by (high nibble, low nibble): bit (1 << high) of mask[low] is set.
  const __m128i mask_lut = _mm_setr_epi8(
      static_cast<char>(0xa8), static_cast<char>(0xf8), static_cast<char>(0xf8),
      static_cast<char>(0xf8), static_cast<char>(0xf8), static_cast<char>(0xf8),
      static_cast<char>(0xf8), static_cast<char>(0xf8), static_cast<char>(0xf8),
      static_cast<char>(0xf8), static_cast<char>(0xf0), 0x54, 0x50, 0x50, 0x50, 0x54);
  const __m128i bit_lut = _mm_setr_epi8(0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40,
                                        static_cast<char>(0x80), 0, 0, 0, 0, 0, 0, 0, 0);
  // value = character + shift[high nibble]; '/' (0x2f) needs 16 where '+' needs 19.
  const __m128i shift_lut = _mm_setr_epi8(0, 0, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m128i pack = _mm_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
  const __m128i high = _mm_and_si128(_mm_srli_epi32(in, 4), _mm_set1_epi8(0x0f));
  const __m128i low = _mm_and_si128(in, _mm_set1_epi8(0x0f));
  const __m128i valid_bits =
      _mm_and_si128(_mm_shuffle_epi8(mask_lut, low), _mm_shuffle_epi8(bit_lut, high));
  const __m128i slash = _mm_cmpeq_epi8(in, _mm_set1_epi8(0x2f));
  const __m128i shift = _mm_add_epi8(_mm_shuffle_epi8(shift_lut, high),
                                     _mm_and_si128(slash, _mm_set1_epi8(-3)));
  const __m128i values = _mm_add_epi8(in, shift);
  // Four 6-bit values per 32-bit lane -> 24 bits -> 3 bytes in order.
  const __m128i pairs = _mm_maddubs_epi16(values, _mm_set1_epi32(0x01400140));
  const __m128i triples = _mm_madd_epi16(pairs, _mm_set1_epi32(0x00011000));
  *bytes = _mm_shuffle_epi8(triples, pack);
  return _mm_movemask_epi8(_mm_cmpeq_epi8(valid_bits, _mm_setzero_si128())) == 0;
}

// The last 16 characters of a text of at least 16, in a register, with its `padding` '='
// characters (the last one or two lanes) replaced by 'A' (value 0). Loaded straight from the
// text: a block assembled byte by byte on the stack would stall the vector load.
__attribute__((target("ssse3"))) inline __m128i FinalWindow(const char* text, size_t size,
                                                           size_t padding) {
  const __m128i pad_lanes = LastLanes(padding);
  const __m128i in = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text + size - 16));
  return _mm_or_si128(_mm_andnot_si128(pad_lanes, in),
                      _mm_and_si128(pad_lanes, _mm_set1_epi8('A')));
}

// The same for a text of 4..12 characters, through a stack block filled up with 'A'.
__attribute__((target("ssse3"))) inline __m128i ShortWindow(const char* text, size_t size,
                                                           size_t padding) {
  alignas(16) char block[16];
  std::memset(block, 'A', sizeof(block));
  std::memcpy(block + 16 - size, text, size);
  for (size_t p = 1; p <= padding; ++p) block[16 - p] = 'A';
  const __m128i in = _mm_load_si128(reinterpret_cast<const __m128i*>(block));
  WipeBytes(block, sizeof(block));
  return in;
}

// Decodes all of `text` (`size` characters, a multiple of 4, at least 4; the last group may
// end in `padding` '=' characters) into exactly `out_size` bytes: whole 16-character blocks
// that stop before the final group, then the final 16-character window (overlapping the last
// block; right-aligned after 'A's when the text is shorter) with the padding read as 'A', so
// that an '=' anywhere else fails validation. With the padding decoded as zero bits the text
// is canonical exactly when the window's bytes past the output are zero: checked without
// branching on the data. Blocks go straight into `out` where 16 bytes fit; the one stack copy
// of decoded bytes is wiped.
__attribute__((target("ssse3"))) bool Base64DecodeSsse3(const char* text, size_t size,
                                                        size_t padding, uint8_t* out,
                                                        size_t out_size) {
  alignas(16) uint8_t spill[16];
  __m128i bytes;
  bool valid = true;
  const size_t window = size >= 16 ? size - 16 : 0;  // where the final window starts
  for (size_t i = 0, o = 0; i < window; i += 16, o += 12) {
    valid &= DecodeBlockSsse3(_mm_loadu_si128(reinterpret_cast<const __m128i*>(text + i)), &bytes);
    if (o + 16 <= out_size) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + o), bytes);
    } else {
      _mm_store_si128(reinterpret_cast<__m128i*>(spill), bytes);
      std::memcpy(out + o, spill, 12);
    }
  }
  const __m128i in = size >= 16 ? FinalWindow(text, size, padding) : ShortWindow(text, size, padding);
  valid &= DecodeBlockSsse3(in, &bytes);
  // The window's bytes end at lane 11; the last `padding` of them must be zero.
  const __m128i extra_lanes = _mm_andnot_si128(LastLanes(4), LastLanes(padding + 4));
  valid &= _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_and_si128(bytes, extra_lanes),
                                            _mm_setzero_si128())) == 0xffff;
  // The window decodes to the last 12 - padding output bytes (fewer for a short text).
  const size_t window_bytes = std::min<size_t>(out_size, 12 - padding);
  _mm_store_si128(reinterpret_cast<__m128i*>(spill), bytes);
  std::memcpy(out + out_size - window_bytes, spill + 12 - padding - window_bytes, window_bytes);
  WipeBytes(spill, sizeof(spill));
  return valid;
}
#endif

// Decodes strictly (padding required, trailing bits must be zero, no ignored characters) in
// constant time into exactly `size` bytes, `size` being DecodedSize(text, text_len): SSSE3
// where available, for every character; libsodium's constant-time decoder otherwise.
bool DecodeInto(const char* text, size_t text_len, uint8_t* out, size_t size) {
  if (text_len % 4 != 0) return false;
  if (text_len == 0) return size == 0;  // empty input: `out` may be null
  const size_t padding = text_len / 4 * 3 - size;
  if (padding > 2) return false;
#if defined(__x86_64__)
  if (HasSsse3()) return Base64DecodeSsse3(text, text_len, padding, out, size);
#endif
  // libsodium 1.0.18's decoder takes every byte >= 0x80 for '/' (value 63), so one blob would
  // have many accepted encodings: refuse them up front (no branch on individual characters).
  uint8_t any_high = 0;
  for (size_t i = 0; i < text_len; ++i) any_high |= static_cast<uint8_t>(text[i]);
  if (any_high & 0x80) return false;
  size_t bin_len = 0;
  const char* end = nullptr;
  return sodium_base642bin(out, size, text, text_len, nullptr, &bin_len, &end,
                           sodium_base64_VARIANT_ORIGINAL) == 0 &&
         end == text + text_len && bin_len == size;
}

// The exact decoded length of well-formed padded base64 of `text_len` (a multiple of 4) bytes
// ending in `text`'s last characters: known before decoding, so the output is bounded and sized
// exactly before anything is allocated. Malformed input may decode to fewer bytes; the decoder
// catches that.
size_t DecodedSize(const char* text, size_t text_len) {
  if (text_len == 0) return 0;
  size_t padding = 0;
  if (text[text_len - 1] == '=') {
    ++padding;
    if (text[text_len - 2] == '=') ++padding;
  }
  return text_len / 4 * 3 - padding;
}

absl::Status TooLong(size_t max_decoded) {
  return absl::InvalidArgumentError(
      absl::StrCat("base64 input decodes to more than ", max_decoded, " bytes"));
}

}  // namespace

namespace {

#if defined(__x86_64__)
// Base64 of bytes 0..11 of `v` into 16 characters, all in SSE registers (W. Mula and
// D. Lemire, "Faster Base64 Encoding and Decoding Using AVX2 Instructions", the SSE variant):
// no memory lookup is indexed by the data, so the time does not depend on it.
__attribute__((target("ssse3"), always_inline)) inline __m128i EncodeBlockSsse3(__m128i raw) {
  const __m128i spread = _mm_setr_epi8(1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10);
  const __m128i shift_lut = _mm_setr_epi8('a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
                                          '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
                                          '0' - 52, '+' - 62, '/' - 63, 'A', 0, 0);
  const __m128i v = _mm_shuffle_epi8(raw, spread);
  // Four 6-bit indices per 32-bit lane.
  const __m128i t0 = _mm_and_si128(v, _mm_set1_epi32(0x0fc0fc00));
  const __m128i t1 = _mm_mulhi_epu16(t0, _mm_set1_epi32(0x04000040));
  const __m128i t2 = _mm_and_si128(v, _mm_set1_epi32(0x003f03f0));
  const __m128i t3 = _mm_mullo_epi16(t2, _mm_set1_epi32(0x01000010));
  const __m128i indices = _mm_or_si128(t1, t3);
  // Index ranges 0-25, 26-51, 52-61, 62, 63 -> the offset to add, through an in-register LUT.
  __m128i range = _mm_subs_epu8(indices, _mm_set1_epi8(51));
  const __m128i upper = _mm_cmpgt_epi8(_mm_set1_epi8(26), indices);
  range = _mm_or_si128(range, _mm_and_si128(upper, _mm_set1_epi8(13)));
  return _mm_add_epi8(_mm_shuffle_epi8(shift_lut, range), indices);
}

// Lanes `shift`..15 of `v` moved down to 0..15 - shift, zeros above (shift 0..16).
__attribute__((target("ssse3"))) inline __m128i ShiftDown(__m128i v, size_t shift) {
  const __m128i index = _mm_add_epi8(
      _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
      _mm_set1_epi8(static_cast<char>(shift)));
  // Lanes whose source would be past 15 get bit 7 set: pshufb zeroes them.
  const __m128i past = _mm_cmpgt_epi8(index, _mm_set1_epi8(15));
  return _mm_shuffle_epi8(v, _mm_or_si128(index, past));
}

// '=' in lanes 16 - padding..15 of `chars`.
__attribute__((target("ssse3"))) inline __m128i PadTail(__m128i chars, size_t padding) {
  const __m128i pad = LastLanes(padding);
  return _mm_or_si128(_mm_andnot_si128(pad, chars), _mm_and_si128(pad, _mm_set1_epi8('=')));
}

// Inputs of 1..15 bytes: through a zero-filled stack copy, the text through a stack buffer
// (both wiped).
__attribute__((target("ssse3"))) void Base64EncodeShortSsse3(const uint8_t* in, size_t size,
                                                             uint8_t* out) {
  alignas(16) uint8_t block[16] = {};
  std::memcpy(block + 16 - size, in, size);
  __m128i raw = ShiftDown(_mm_load_si128(reinterpret_cast<const __m128i*>(block)), 16 - size);
  WipeBytes(block, sizeof(block));
  alignas(16) uint8_t text[16];
  for (size_t rest = size, o = 0; rest > 0; raw = ShiftDown(raw, 12)) {
    const size_t take = rest < 12 ? rest : 12;
    const size_t chars = Base64EncodedSize(take);
    const __m128i encoded = PadTail(EncodeBlockSsse3(raw), (3 - take % 3) % 3 + 16 - chars);
    // PadTail marked lanes chars - padding..15; only the first `chars` are copied out.
    _mm_store_si128(reinterpret_cast<__m128i*>(text), encoded);
    std::memcpy(out + o, text, chars);
    o += chars;
    rest -= take;
  }
  WipeBytes(text, sizeof(text));
}

// The base64 of all of `in` (`size` >= 1 bytes) into `out` (Base64EncodedSize(size)): 12 bytes
// per step while 16 are readable; then, from one register holding the input's last 16 bytes,
// shifted down and zero-filled (so the padding group's bits come out as the canonical zeros),
// the rest: a 12-byte step if more than 12 are left, and the final four groups straight into
// the text's last 16 characters with '=' over the lanes past the data. Those steps overlap
// characters already written, with the same values; nothing passes through the stack.
__attribute__((target("ssse3"))) void Base64EncodeSsse3(const uint8_t* in, size_t size,
                                                        uint8_t* out) {
  if (size < 16) return Base64EncodeShortSsse3(in, size, out);
  size_t i = 0, o = 0;
  for (; i + 16 <= size; i += 12, o += 16) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + o),
                     EncodeBlockSsse3(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i))));
  }
  const __m128i last = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + size - 16));
  const size_t rest = size - i;  // 4..15
  if (rest > 12) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + o),
                     EncodeBlockSsse3(ShiftDown(last, 16 - rest)));
  }
  const size_t groups = (size + 2) / 3;      // at least 6
  const size_t padding = 3 * groups - size;  // 0..2; the final four groups hold 12 - padding
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 4 * groups - 16),
                   PadTail(EncodeBlockSsse3(ShiftDown(last, 4 + padding)), padding));
}

#endif

}  // namespace

void Base64EncodeTo(absl::Span<const uint8_t> bytes, absl::Span<uint8_t> out) {
  if (bytes.empty()) return;
#if defined(__x86_64__)
  if (HasSsse3()) {
    Base64EncodeSsse3(bytes.data(), bytes.size(), out.data());
    return;
  }
#endif
  size_t i = 0, o = 0;
  // Without SSSE3. The input may be a data key: the 64-character alphabet is aligned to one
  // 64-byte cache line, so which line a lookup touches never depends on the secret.
  // (libsodium's constant-time sodium_bin2base64 took 158 ns for a 32-byte key here.)
  alignas(64) static constexpr char kAlphabet[65] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const size_t full = bytes.size() / 3 * 3;
  for (; i < full; i += 3) {
    uint32_t v = uint32_t{bytes[i]} << 16 | uint32_t{bytes[i + 1]} << 8 | bytes[i + 2];
    out[o++] = kAlphabet[(v >> 18) & 63];
    out[o++] = kAlphabet[(v >> 12) & 63];
    out[o++] = kAlphabet[(v >> 6) & 63];
    out[o++] = kAlphabet[v & 63];
  }
  size_t rest = bytes.size() - full;
  if (rest > 0) {
    uint32_t v = uint32_t{bytes[full]} << 16 | (rest == 2 ? uint32_t{bytes[full + 1]} << 8 : 0);
    out[o++] = kAlphabet[(v >> 18) & 63];
    out[o++] = kAlphabet[(v >> 12) & 63];
    out[o++] = rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out[o++] = '=';
  }
}

std::string Base64Encode(absl::Span<const uint8_t> bytes) {
  std::string out(Base64EncodedSize(bytes.size()), '\0');
  Base64EncodeTo(bytes, absl::MakeSpan(reinterpret_cast<uint8_t*>(out.data()), out.size()));
  return out;
}

absl::StatusOr<std::string> Base64Decode(std::string_view text, size_t max_decoded) {
  if (sodium_init() < 0) return absl::InternalError("libsodium failed to initialize");
  if (text.size() % 4 != 0) return absl::InvalidArgumentError("base64 length is not a multiple of 4");
  const size_t size = DecodedSize(text.data(), text.size());
  if (size > max_decoded) return TooLong(max_decoded);
  std::string out(size, '\0');
  if (!DecodeInto(text.data(), text.size(), reinterpret_cast<uint8_t*>(out.data()), size)) {
    return absl::InvalidArgumentError("malformed base64");
  }
  return out;
}

absl::Status Base64DecodeSecretInto(absl::Span<const uint8_t> text, size_t max_decoded,
                                    SecretBytes* out) {
  if (text.size() % 4 != 0) {
    out->Clear();
    return absl::InvalidArgumentError("base64 length is not a multiple of 4");
  }
  const char* chars = reinterpret_cast<const char*>(text.data());
  const size_t size = DecodedSize(chars, text.size());
  if (size > max_decoded) {
    out->Clear();
    return TooLong(max_decoded);
  }
  if (out->size() != size) {
    absl::StatusOr<SecretBytes> fresh = SecretBytes::New(size);
    if (!fresh.ok()) {
      out->Clear();
      return fresh.status();
    }
    *out = *std::move(fresh);
  }
  if (!DecodeInto(chars, text.size(), out->mutable_data(), size)) {
    out->Clear();
    return absl::InvalidArgumentError("malformed base64");
  }
  return absl::OkStatus();
}

absl::StatusOr<SecretBytes> Base64DecodeSecret(absl::Span<const uint8_t> text, size_t max_decoded) {
  SecretBytes out;
  absl::Status s = Base64DecodeSecretInto(text, max_decoded, &out);
  if (!s.ok()) return s;
  return out;
}

std::string HexEncode(absl::Span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 15];
  }
  return out;
}

absl::StatusOr<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return absl::InvalidArgumentError("odd-length hex");
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return absl::InvalidArgumentError("invalid hex digit");
    out[i] = static_cast<char>(hi << 4 | lo);
  }
  return out;
}

}  // namespace internal
}  // namespace kms_envelope
