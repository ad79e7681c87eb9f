#include "kms_envelope/local/store_document.h"

#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/internal/uuid.h"
#include "kms_envelope/local/store_file.h"
#include "kms_envelope/status_macros.h"
#include "sodium.h"

namespace kms_envelope {
namespace local {
namespace {

using internal::Av;
using json = nlohmann::json;

void WipeString(std::string& s) {
  if (!s.empty()) sodium_memzero(s.data(), s.size());
}

void WipeMaterial(json& doc) {
  if (!doc.is_object()) return;
  auto keys = doc.find("Keys");
  if (keys == doc.end() || !keys->is_array()) return;
  for (json& k : *keys) {
    if (!k.is_object()) continue;
    auto versions = k.find("Versions");
    if (versions == k.end() || !versions->is_array()) continue;
    for (json& v : *versions) {
      if (!v.is_object()) continue;
      auto m = v.find("Material");
      if (m != v.end() && m->is_string()) WipeString(m->get_ref<std::string&>());
    }
  }
}

json KeyToJson(const KeyRecord& k) {
  json versions = json::array();
  for (const VersionRecord& v : k.versions) {
    versions.push_back({{"KeyVersionId", v.id},
                        {"CreationDate", v.creation_date},
                        {"Material", internal::Base64Encode(v.key->material.span())},
                        {"WrapsReserved", v.wraps_reserved}});
  }
  return {{"KeyId", k.key_id},
          {"Description", k.description},
          {"KeyState", k.state},
          {"CreationDate", k.creation_date},
          {"DeleteDate", k.delete_date},
          {"LastRotationDate", k.last_rotation_date},
          {"PrimaryKeyVersion", k.versions[k.primary].id},
          {"AutomaticRotation",
           k.automatic_rotation ? kAutomaticRotationEnabled : kAutomaticRotationDisabled},
          {"Versions", std::move(versions)}};
}

const std::string* Str(const json& o, const char* name) {
  auto it = o.find(name);
  if (it == o.end() || !it->is_string()) return nullptr;
  return &it->get_ref<const std::string&>();
}

absl::Status Corrupt(std::string_view why) {
  return absl::DataLossError(absl::StrCat("key store document is malformed: ", Av(why)));
}

// The fields format version 2 added; absent in version 1 documents (AutomaticRotation Enabled,
// WrapsReserved 0), refused when present but malformed.
absl::Status ParseAutomaticRotation(const json& k, KeyRecord* rec) {
  auto it = k.find("AutomaticRotation");
  if (it == k.end()) return absl::OkStatus();
  const std::string* value = Str(k, "AutomaticRotation");
  if (value != nullptr &&
      (*value == kAutomaticRotationEnabled || *value == kAutomaticRotationDisabled)) {
    rec->automatic_rotation = *value == kAutomaticRotationEnabled;
    return absl::OkStatus();
  }
  return Corrupt("AutomaticRotation is neither Enabled nor Disabled");
}

absl::Status ParseWrapsReserved(const json& v, VersionRecord* rec) {
  auto it = v.find("WrapsReserved");
  if (it == v.end()) return absl::OkStatus();
  if (!it->is_number_unsigned()) return Corrupt("WrapsReserved is not an unsigned integer");
  rec->wraps_reserved = it->get<uint64_t>();
  return absl::OkStatus();
}

// The previous state's key for `id` when `material` is unchanged.
std::shared_ptr<const VersionKey> Reusable(const State* previous, const std::string& id,
                                           const SecretBytes& material) {
  if (previous == nullptr) return nullptr;
  auto old = previous->by_version.find(id);
  if (old == previous->by_version.end() ||
      !old->second.version->key->material.ConstantTimeEquals(material)) {
    return nullptr;
  }
  return old->second.version->key;
}

absl::StatusOr<VersionRecord> ParseVersion(const json& v, const State* previous) {
  if (!v.is_object()) return Corrupt("version is not an object");
  const std::string* id = Str(v, "KeyVersionId");
  const std::string* date = Str(v, "CreationDate");
  const std::string* material = Str(v, "Material");
  if (id == nullptr || date == nullptr || material == nullptr || !internal::IsUuid(*id)) {
    return Corrupt("malformed version");
  }
  absl::StatusOr<SecretBytes> raw =
      internal::Base64DecodeSecret(internal::Bytes(*material), kCmkSize);
  if (!raw.ok() || raw->size() != kCmkSize) return Corrupt("malformed key material");
  VersionRecord vr;
  vr.id = *id;
  vr.creation_date = *date;
  KMS_RETURN_IF_ERROR(ParseWrapsReserved(v, &vr));
  vr.key = Reusable(previous, *id, *raw);
  if (vr.key == nullptr) {
    KMS_ASSIGN_OR_RETURN(vr.key, MakeVersionKey(*std::move(raw)));
  }
  return vr;
}

absl::Status ParseVersions(const json& k, const std::string& primary_id, const State* previous,
                           State* state, KeyRecord* rec) {
  auto versions = k.find("Versions");
  if (versions == k.end() || !versions->is_array() || versions->empty()) {
    return Corrupt("key without versions");
  }
  bool primary_found = false;
  for (const json& v : *versions) {
    KMS_ASSIGN_OR_RETURN(VersionRecord vr, ParseVersion(v, previous));
    if (vr.id == primary_id) {
      rec->primary = rec->versions.size();
      primary_found = true;
    }
    if (state->by_version.count(vr.id) != 0) return Corrupt("duplicate KeyVersionId");
    state->by_version[vr.id] = VersionRef{nullptr, nullptr};  // Reindex fills it
    rec->versions.push_back(std::move(vr));
  }
  if (!primary_found) return Corrupt("PrimaryKeyVersion names no version");
  return absl::OkStatus();
}

absl::Status ParseKey(const json& k, const State* previous, State* state) {
  if (!k.is_object()) return Corrupt("key is not an object");
  constexpr int kFields = 7;
  const char* names[kFields] = {"KeyId",      "Description",      "KeyState",         "CreationDate",
                                "DeleteDate", "LastRotationDate", "PrimaryKeyVersion"};
  const std::string* fields[kFields];
  for (int i = 0; i < kFields; ++i) {
    fields[i] = Str(k, names[i]);
    if (fields[i] == nullptr) return Corrupt(absl::StrCat("key without ", names[i]));
  }
  KeyRecord rec;
  rec.key_id = *fields[0];
  rec.description = *fields[1];
  rec.state = *fields[2];
  rec.creation_date = *fields[3];
  rec.delete_date = *fields[4];
  rec.last_rotation_date = *fields[5];
  if (!internal::IsUuid(rec.key_id)) return Corrupt("malformed KeyId");
  KMS_RETURN_IF_ERROR(ParseAutomaticRotation(k, &rec));
  if (rec.state != kKeyStateEnabled && rec.state != kKeyStateDisabled &&
      rec.state != kKeyStatePendingDeletion) {
    return Corrupt("unknown KeyState");
  }
  KMS_RETURN_IF_ERROR(ParseVersions(k, *fields[6], previous, state, &rec));
  if (state->keys.count(rec.key_id) != 0) return Corrupt("duplicate KeyId");
  state->key_order.push_back(rec.key_id);
  std::string id = rec.key_id;
  state->keys.emplace(std::move(id), std::move(rec));
  return absl::OkStatus();
}

absl::Status ParseAlias(const json& a, State* state) {
  if (!a.is_object()) return Corrupt("alias is not an object");
  const std::string* name = Str(a, "AliasName");
  const std::string* key_id = Str(a, "KeyId");
  if (name == nullptr || key_id == nullptr || !IsValidAliasName(*name)) {
    return Corrupt("malformed alias");
  }
  if (state->keys.count(*key_id) == 0) return Corrupt("alias names an unknown key");
  if (!state->aliases.emplace(*name, *key_id).second) return Corrupt("duplicate alias");
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<State>> ParseJson(const json& doc, const State* previous) {
  if (!doc.is_object()) return Corrupt("not an object");
  auto keys = doc.find("Keys");
  auto aliases = doc.find("Aliases");
  if (keys == doc.end() || !keys->is_array()) return Corrupt("no Keys");
  if (aliases == doc.end() || !aliases->is_array()) return Corrupt("no Aliases");
  auto state = std::make_unique<State>();
  for (const json& k : *keys) KMS_RETURN_IF_ERROR(ParseKey(k, previous, state.get()));
  for (const json& a : *aliases) KMS_RETURN_IF_ERROR(ParseAlias(a, state.get()));
  state->Reindex();
  return state;
}

}  // namespace

absl::StatusOr<SecretBytes> SerializeDocument(const State& state) {
  json doc = json::object();
  doc["FormatVersion"] = kStoreFormatVersion;
  json keys = json::array();
  for (const std::string& id : state.key_order) keys.push_back(KeyToJson(state.keys.at(id)));
  doc["Keys"] = std::move(keys);
  json aliases = json::array();
  for (const auto& [name, key_id] : state.aliases) {
    aliases.push_back({{"AliasName", name}, {"KeyId", key_id}});
  }
  doc["Aliases"] = std::move(aliases);
  std::string text = doc.dump();
  WipeMaterial(doc);
  absl::StatusOr<SecretBytes> out = SecretBytes::CopyFrom(internal::Bytes(text));
  WipeString(text);
  return out;
}

absl::StatusOr<std::unique_ptr<State>> ParseDocument(absl::Span<const uint8_t> text,
                                                     const State* previous) {
  json doc = json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded()) return Corrupt("not JSON");
  absl::StatusOr<std::unique_ptr<State>> state = ParseJson(doc, previous);
  WipeMaterial(doc);
  return state;
}

}  // namespace local
}  // namespace kms_envelope
