#include "kms_envelope/kms_api/query_params.h"

#include <algorithm>
#include <utility>

namespace kms_envelope {
namespace kms_api {
namespace {

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '_' || c == '.' || c == '~';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

template <typename Str>
void AppendPercentEncodedImpl(std::string_view s, Str* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c)) {
      out->push_back(ch);
    } else {
      out->push_back('%');
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 0xf]);
    }
  }
}

}  // namespace

void AppendPercentEncoded(std::string_view s, WipedString* out) { AppendPercentEncodedImpl(s, out); }
void AppendPercentEncoded(std::string_view s, std::string* out) { AppendPercentEncodedImpl(s, out); }

std::string PercentEncode(std::string_view s) {
  std::string out;
  out.reserve(s.size() * 3);
  AppendPercentEncoded(s, &out);
  return out;
}

absl::StatusOr<WipedString> PercentDecode(std::string_view s, bool plus_is_space) {
  WipedString out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (s.size() - i < 3) {
        return absl::InvalidArgumentError("truncated percent escape");
      }
      int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
      if (hi < 0 || lo < 0) return absl::InvalidArgumentError("malformed percent escape");
      out.push_back(static_cast<char>(hi << 4 | lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

WipedString CanonicalQuery(const std::vector<QueryParam>& params) {
  std::vector<std::pair<std::string, WipedString>> encoded;
  encoded.reserve(params.size());
  for (const auto& [k, v] : params) {
    WipedString value;
    value.reserve(v.size() * 3);
    AppendPercentEncoded(v, &value);
    encoded.emplace_back(PercentEncode(k), std::move(value));
  }
  std::sort(encoded.begin(), encoded.end());
  WipedString out;
  for (const auto& [k, v] : encoded) {
    if (!out.empty()) out.push_back('&');
    out += k;
    out.push_back('=');
    out += v;
  }
  return out;
}

}  // namespace kms_api
}  // namespace kms_envelope
