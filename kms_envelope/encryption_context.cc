#include "kms_envelope/encryption_context.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <set>

#include "absl/strings/str_cat.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/internal/utf8.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace {

absl::Status Invalid(std::string_view why) {
  return KmsError(kms_code::kInvalidParameter, absl::StrCat("EncryptionContext: ", internal::Av(why)));
}

absl::Status CheckPair(const std::string& key, const std::string& value) {
  if (key.empty()) return Invalid("keys must not be empty");
  if (key.size() > EncryptionContext::kMaxKeySize) {
    return Invalid(absl::StrCat("key longer than ", EncryptionContext::kMaxKeySize, " bytes"));
  }
  if (value.size() > EncryptionContext::kMaxValueSize) {
    return Invalid(absl::StrCat("value longer than ", EncryptionContext::kMaxValueSize, " bytes"));
  }
  if (!internal::IsValidUtf8(key) || !internal::IsValidUtf8(value)) return Invalid("keys and values must be UTF-8");
  return absl::OkStatus();
}

}  // namespace

EncryptionContext::EncryptionContext() = default;

const EncryptionContext::Data& EncryptionContext::EmptyData() {
  static const Data* empty = new Data{{}, std::string(2, '\0')};
  return *empty;
}

EncryptionContext::EncryptionContext(std::map<std::string, std::string> pairs) {
  if (pairs.empty()) return;  // shares EmptyData
  auto data = std::make_shared<Data>();
  data->pairs = std::move(pairs);
  size_t size = 2;
  for (const auto& [k, v] : data->pairs) size += 4 + k.size() + v.size();
  std::string& canonical = data->canonical;
  canonical.resize(size);
  auto* p = reinterpret_cast<uint8_t*>(canonical.data());
  internal::StoreBigEndian16(static_cast<uint16_t>(data->pairs.size()), p);
  p += 2;
  for (const auto& [k, v] : data->pairs) {
    internal::StoreBigEndian16(static_cast<uint16_t>(k.size()), p);
    std::memcpy(p + 2, k.data(), k.size());
    p += 2 + k.size();
    internal::StoreBigEndian16(static_cast<uint16_t>(v.size()), p);
    std::memcpy(p + 2, v.data(), v.size());
    p += 2 + v.size();
  }
  data_ = std::move(data);
}

const EncryptionContext& EncryptionContext::Empty() {
  static const EncryptionContext* empty = new EncryptionContext();
  return *empty;
}


absl::StatusOr<EncryptionContext> EncryptionContext::FromPairs(
    const std::vector<std::pair<std::string, std::string>>& pairs) {
  if (pairs.size() > kMaxPairs) return Invalid(absl::StrCat("more than ", kMaxPairs, " pairs"));
  std::map<std::string, std::string> sorted;
  size_t size = 2;
  for (const auto& [k, v] : pairs) {
    absl::Status s = CheckPair(k, v);
    if (!s.ok()) return s;
    if (!sorted.emplace(k, v).second) return Invalid(absl::StrCat("duplicate key \"", k, "\""));
    size += 4 + k.size() + v.size();
  }
  if (size > kMaxCanonicalSize) {
    return Invalid(absl::StrCat("encoded context exceeds ", kMaxCanonicalSize, " bytes"));
  }
  return EncryptionContext(std::move(sorted));
}

absl::StatusOr<EncryptionContext> EncryptionContext::FromJson(std::string_view json) {
  if (json.size() > kMaxJsonSize) {
    return Invalid(absl::StrCat("JSON longer than ", kMaxJsonSize, " bytes"));
  }
  if (json.find_first_not_of(" \t\r\n") == std::string_view::npos) return EncryptionContext();
  std::vector<std::pair<std::string, std::string>> pairs;
  std::set<std::string> seen;
  bool duplicate = false;
  std::string duplicate_key;
  // The parser callback sees every key at depth 1, so a repeated key is caught instead of the
  // default "last one wins".
  nlohmann::json::parser_callback_t cb = [&](int depth, nlohmann::json::parse_event_t event,
                                             nlohmann::json& parsed) {
    if (event == nlohmann::json::parse_event_t::key && depth == 1 && parsed.is_string()) {
      std::string key = parsed.get<std::string>();
      if (!seen.insert(key).second && !duplicate) {
        duplicate = true;
        duplicate_key = key;
      }
    }
    return true;
  };
  nlohmann::json doc = nlohmann::json::parse(json.begin(), json.end(), cb,
                                             /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Invalid("not valid JSON");
  if (!doc.is_object()) return Invalid("must be a JSON object");
  if (duplicate) return Invalid(absl::StrCat("duplicate key \"", duplicate_key, "\""));
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (!it.value().is_string()) {
      return Invalid(absl::StrCat("value of \"", it.key(), "\" must be a string"));
    }
    pairs.emplace_back(it.key(), it.value().get<std::string>());
  }
  return FromPairs(pairs);
}

absl::StatusOr<EncryptionContext> EncryptionContext::FromCanonical(
    absl::Span<const uint8_t> encoded) {
  if (encoded.size() < 2) return Invalid("canonical encoding truncated");
  if (encoded.size() > kMaxCanonicalSize) return Invalid("canonical encoding too long");
  size_t count = internal::LoadBigEndian16(encoded.data());
  if (count > kMaxPairs) return Invalid(absl::StrCat("more than ", kMaxPairs, " pairs"));
  size_t pos = 2;
  std::vector<std::pair<std::string, std::string>> pairs;
  std::string previous;
  for (size_t i = 0; i < count; ++i) {
    std::string fields[2];
    for (auto& field : fields) {
      if (encoded.size() - pos < 2) return Invalid("canonical encoding truncated");
      size_t len = internal::LoadBigEndian16(encoded.data() + pos);
      pos += 2;
      if (encoded.size() - pos < len) return Invalid("canonical encoding truncated");
      field.assign(reinterpret_cast<const char*>(encoded.data() + pos), len);
      pos += len;
    }
    if (i > 0 && !(previous < fields[0])) return Invalid("keys not strictly ascending");
    previous = fields[0];
    pairs.emplace_back(std::move(fields[0]), std::move(fields[1]));
  }
  if (pos != encoded.size()) return Invalid("trailing bytes after canonical encoding");
  return FromPairs(pairs);
}

std::string EncryptionContext::ToJson() const {
  nlohmann::json doc = nlohmann::json::object();
  for (const auto& [k, v] : pairs()) doc[k] = v;
  return doc.dump();
}

bool EncryptionContext::Contains(const EncryptionContext& subset) const {
  const std::map<std::string, std::string>& mine = pairs();
  for (const auto& [k, v] : subset.pairs()) {
    auto it = mine.find(k);
    if (it == mine.end() || it->second != v) return false;
  }
  return true;
}

}  // namespace kms_envelope
