#include "kms_envelope/server/request_params.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/internal/utf8.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace server {
namespace {

using internal::Av;
using kms_api::QueryParam;
using kms_api::WipedString;

absl::Status Invalid(std::string_view why) { return KmsError(kms_code::kInvalidParameter, why); }

// `name` is `map` + "." + something.
bool IsFlattenedEntryOf(std::string_view name, std::string_view map) {
  return name.size() > map.size() && name.compare(0, map.size(), map) == 0 &&
         name[map.size()] == '.';
}

bool Contains(absl::Span<const std::string_view> list, std::string_view name) {
  for (std::string_view s : list) {
    if (s == name) return true;
  }
  return false;
}

}  // namespace

absl::Status ParseParams(std::string_view text, std::vector<QueryParam>* out) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t amp = text.find('&', pos);
    if (amp == std::string_view::npos) amp = text.size();
    std::string_view pair = text.substr(pos, amp - pos);
    pos = amp + 1;
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string_view name = pair.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (out->size() >= kMaxRequestParams) return Invalid("too many parameters");
    if (value.size() > 3 * kMaxParamValueSize || name.size() > 3 * kMaxParamNameSize) {
      return Invalid("parameter too long");
    }
    absl::StatusOr<WipedString> n = kms_api::PercentDecode(name, true);
    absl::StatusOr<WipedString> v = kms_api::PercentDecode(value, true);
    if (!n.ok() || !v.ok()) return Invalid("malformed encoding");
    if (v->size() > kMaxParamValueSize || n->size() > kMaxParamNameSize) {
      return Invalid("parameter too long");
    }
    if (!internal::IsValidUtf8(*n)) return Invalid("a parameter name is not UTF-8");
    std::string key(n->data(), n->size());
    if (!internal::IsValidUtf8(*v)) return Invalid("parameter " + key + " is not UTF-8");
    for (const auto& [k, _] : *out) {
      if (k == key) return Invalid("duplicate parameter " + key);
    }
    out->emplace_back(std::move(key), std::move(*v));
  }
  return absl::OkStatus();
}

const WipedString* Params::Find(std::string_view name) const {
  for (const auto& [k, v] : *all_) {
    if (k == name) return &v;
  }
  return nullptr;
}

std::string_view Params::Get(std::string_view name) const {
  const WipedString* v = Find(name);
  return v == nullptr ? std::string_view() : std::string_view(*v);
}

absl::StatusOr<std::string_view> Params::Required(std::string_view name) const {
  const WipedString* v = Find(name);
  if (v == nullptr || v->empty()) {
    return KmsError(kms_code::kMissingParameter, absl::StrCat("missing ", Av(name)));
  }
  return std::string_view(*v);
}

absl::StatusOr<std::optional<int64_t>> Params::Int(std::string_view name, int64_t lo,
                                                   int64_t hi) const {
  const WipedString* v = Find(name);
  if (v == nullptr || v->empty()) return std::optional<int64_t>();
  absl::Status not_a_number = Invalid(absl::StrCat(Av(name), " is not a number"));
  if (v->size() > 18) return not_a_number;
  int64_t value = 0;
  for (char c : *v) {
    if (c < '0' || c > '9') return not_a_number;
    value = value * 10 + (c - '0');
  }
  if (value < lo || value > hi) return Invalid(absl::StrCat(Av(name), " is out of range"));
  return std::optional<int64_t>(value);
}

absl::StatusOr<EncryptionContext> Params::Context(std::string_view name) const {
  const WipedString* json = Find(name);
  std::vector<std::pair<std::string, std::string>> flattened;
  for (const auto& [k, v] : *all_) {
    if (IsFlattenedEntryOf(k, name)) {
      flattened.emplace_back(k.substr(name.size() + 1), std::string(v.data(), v.size()));
    }
  }
  if (flattened.empty()) return EncryptionContext::FromJson(json == nullptr ? "" : *json);
  if (json != nullptr) {
    return Invalid(absl::StrCat(Av(name), " is given both as a JSON string and as ", Av(name),
                                ".<key> parameters: send one style"));
  }
  return EncryptionContext::FromPairs(flattened);
}

absl::Status Params::CheckAccepted(std::string_view action,
                                   absl::Span<const std::string_view> scalars,
                                   absl::Span<const std::string_view> maps) const {
  for (const auto& [k, v] : *all_) {
    if (Contains(kCommonParams, k) || Contains(scalars, k) || Contains(maps, k)) continue;
    bool map_entry = false;
    for (std::string_view m : maps) map_entry = map_entry || IsFlattenedEntryOf(k, m);
    if (map_entry) continue;
    return Invalid(absl::StrCat("parameter ", k, " is not accepted by ", Av(action)));
  }
  return absl::OkStatus();
}

}  // namespace server
}  // namespace kms_envelope
