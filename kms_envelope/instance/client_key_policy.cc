#include "kms_envelope/instance/client_key_policy.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace instance {
namespace {

absl::Status Invalid(std::string_view what) {
  return KmsError(kms_code::kInvalidParameter, absl::StrCat("ClientKeys: ", internal::Av(what)));
}

absl::Status AddEntry(const nlohmann::json& e, ClientKeyPolicy* policy) {
  if (!e.is_object()) return Invalid("entries must be objects");
  for (const auto& [name, value] : e.items()) {
    if (name != "KeyId" && name != "PublicKey" && name != "Certificate" && name != "Keys") {
      return Invalid(absl::StrCat("unknown member ", internal::Av(name.substr(0, 64))));
    }
  }
  auto str = [&e](const char* name) -> std::string {
    auto it = e.find(name);
    return it != e.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  const bool has_pub = e.contains("PublicKey"), has_cert = e.contains("Certificate");
  if (has_pub == has_cert) return Invalid("each entry needs one of PublicKey or Certificate");
  std::string pem = str(has_pub ? "PublicKey" : "Certificate");
  std::vector<std::string> keys;
  if (auto it = e.find("Keys"); it != e.end()) {
    if (!it->is_array()) return Invalid("Keys must be an array of strings");
    for (const auto& k : *it) {
      if (!k.is_string() || k.get<std::string>().empty()) return Invalid("bad Keys entry");
      keys.push_back(k.get<std::string>());
    }
  }
  return policy->Add(str("KeyId"), pem, std::move(keys));
}

}  // namespace

absl::Status ClientKeyPolicy::Add(std::string_view key_id, std::string_view public_key_pem,
                                  std::vector<std::string> keys) {
  if (key_id.empty() || key_id.size() > kMaxClientKeyIdSize) return Invalid("bad KeyId");
  if (entries_.size() >= kMaxClientKeys) return Invalid("too many ClientKeys");
  if (entries_.count(key_id) > 0) return Invalid("duplicate KeyId");
  KMS_ASSIGN_OR_RETURN(EvpPkeyPtr key, PublicKeyFromPem(public_key_pem));
  ClientKeyEntry entry;
  entry.key_id = std::string(key_id);
  entry.public_key = std::shared_ptr<EVP_PKEY>(key.release(), EvpPkeyFree());
  entry.keys = std::move(keys);
  entries_.emplace(entry.key_id, std::move(entry));
  return absl::OkStatus();
}

absl::StatusOr<ClientKeyPolicy> ClientKeyPolicy::FromJson(std::string_view json) {
  nlohmann::json j = nlohmann::json::parse(json.begin(), json.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Invalid("the access file is not a JSON object");
  ClientKeyPolicy policy;
  auto list = j.find("ClientKeys");
  if (list == j.end()) return policy;
  if (!list->is_array()) return Invalid("ClientKeys must be an array");
  for (const auto& e : *list) KMS_RETURN_IF_ERROR(AddEntry(e, &policy));
  return policy;
}

absl::StatusOr<ClientKeyPolicy> ClientKeyPolicy::FromFile(const std::string& path) {
  KMS_ASSIGN_OR_RETURN(std::string json, ReadBoundedFile(path, kMaxPolicyFileSize));
  return FromJson(json);
}

const ClientKeyEntry* ClientKeyPolicy::Find(std::string_view key_id) const {
  auto it = entries_.find(key_id);
  return it == entries_.end() ? nullptr : &it->second;
}

}  // namespace instance
}  // namespace kms_envelope
