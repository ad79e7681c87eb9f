#include "kms_envelope/server/access_policy.h"

#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/kms_api/wiped_json.h"
#include "kms_envelope/internal/constant_time.h"

namespace kms_envelope {
namespace server {
namespace {

using kms_api::WipedJson;
using kms_api::WipedString;
absl::Status Invalid(std::string_view what) { return KmsError(kms_code::kInvalidParameter, what); }

}  // namespace

bool AccessKey::AllowsAllKeys() const {
  for (const std::string& k : keys) {
    if (k == "*") return true;
  }
  return false;
}

bool AccessKey::MatchesSecurityToken(std::string_view token) const {
  if (token.size() != security_token.size()) return false;
  return internal::ConstantTimeEquals(token.data(), security_token.data(), token.size());
}

absl::Status AccessPolicy::Add(std::string_view access_key_id, std::string_view secret,
                               std::vector<std::string> actions, std::vector<std::string> keys,
                               std::string_view security_token) {
  if (access_key_id.empty() || access_key_id.size() > 256) return Invalid("bad AccessKeyId");
  if (secret.empty() || secret.size() > 1024) return Invalid("bad AccessKeySecret");
  if (keys_.size() >= kMaxAccessKeys) return Invalid("too many access keys");
  if (keys_.count(access_key_id) > 0) return Invalid("duplicate AccessKeyId");
  AccessKey key;
  key.access_key_id = std::string(access_key_id);
  KMS_ASSIGN_OR_RETURN(key.access_key_secret, SecretBytes::CopyFrom(internal::Bytes(secret)));
  if (security_token.size() > 4096) return Invalid("SecurityToken longer than 4096 bytes");
  if (!security_token.empty()) {
    KMS_ASSIGN_OR_RETURN(key.security_token, SecretBytes::CopyFrom(internal::Bytes(security_token)));
  }
  key.actions.insert(actions.begin(), actions.end());
  key.keys = std::move(keys);
  keys_.emplace(key.access_key_id, std::move(key));
  return absl::OkStatus();
}

const AccessKey* AccessPolicy::Find(std::string_view access_key_id) const {
  auto it = keys_.find(access_key_id);
  return it == keys_.end() ? nullptr : &it->second;
}

absl::StatusOr<AccessPolicy> AccessPolicy::FromJson(std::string_view json) {
  if (json.size() > kMaxAccessFileSize) return Invalid("access file too large");
  WipedJson j = WipedJson::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Invalid("access file is not a JSON object");
  // Every field is understood or refused: a misspelt field would otherwise be a policy that
  // silently differs from what its author wrote. ClientKeys belongs to instance/client_key_policy.
  for (const auto& item : j.items()) {
    const auto& name = item.key();
    if (name != "AccessKeys" && name != "ClientKeys") {
      return Invalid("unknown access file field " + std::string(name.data(), name.size()));
    }
  }
  auto list = j.find("AccessKeys");
  if (list == j.end() || !list->is_array()) return Invalid("access file needs an AccessKeys array");
  AccessPolicy policy;
  for (const WipedJson& e : *list) {
    if (!e.is_object()) return Invalid("AccessKeys entries must be objects");
    for (const auto& item : e.items()) {
      const auto& name = item.key();
      if (name != "AccessKeyId" && name != "AccessKeySecret" && name != "Actions" &&
          name != "Keys" && name != "SecurityToken") {
        return Invalid("unknown AccessKeys field " + std::string(name.data(), name.size()));
      }
    }
    auto str = [&](const char* name) -> std::string_view {
      auto it = e.find(name);
      if (it == e.end() || !it->is_string()) return {};
      return std::string_view(it->get_ref<const WipedString&>());
    };
    auto strs = [&](const char* name) -> absl::StatusOr<std::vector<std::string>> {
      std::vector<std::string> out;
      auto it = e.find(name);
      if (it == e.end()) return out;
      if (!it->is_array()) return Invalid(std::string(name) + " must be an array of strings");
      for (const WipedJson& v : *it) {
        if (!v.is_string()) return Invalid(std::string(name) + " must be an array of strings");
        out.emplace_back(std::string_view(v.get_ref<const WipedString&>()));
      }
      return out;
    };
    auto token = e.find("SecurityToken");
    if (token != e.end() && !token->is_string()) return Invalid("SecurityToken must be a string");
    KMS_ASSIGN_OR_RETURN(std::vector<std::string> actions, strs("Actions"));
    KMS_ASSIGN_OR_RETURN(std::vector<std::string> keys, strs("Keys"));
    KMS_RETURN_IF_ERROR(policy.Add(str("AccessKeyId"), str("AccessKeySecret"), std::move(actions),
                                   std::move(keys), str("SecurityToken")));
  }
  return policy;
}

absl::StatusOr<AccessPolicy> AccessPolicy::FromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("cannot open access file " + path);
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  if (size < 0 || static_cast<size_t>(size) > kMaxAccessFileSize) {
    return Invalid("access file too large");
  }
  in.seekg(0);
  WipedString text;
  text.resize(static_cast<size_t>(size));
  in.read(text.data(), size);
  if (!in) return Invalid("cannot read access file");
  absl::StatusOr<AccessPolicy> policy = FromJson(text);
  kms_api::WipeString(&text);
  return policy;
}

}  // namespace server
}  // namespace kms_envelope
