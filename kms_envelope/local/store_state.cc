#include "kms_envelope/local/store_state.h"

#include "absl/strings/str_cat.h"
#include "kms_envelope/internal/random.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/status_macros.h"

namespace kms_envelope {
namespace local {

using internal::Av;

absl::StatusOr<std::shared_ptr<const VersionKey>> MakeVersionKey(SecretBytes material) {
  if (material.size() != kCmkSize) return absl::InternalError("CMK material must be 32 bytes");
  KMS_ASSIGN_OR_RETURN(internal::AeadKey aead,
                       internal::AeadKey::New(internal::AeadAlgorithm::kAes256Gcm,
                                              material.span()));
  return std::shared_ptr<const VersionKey>(
      new VersionKey(std::move(material), std::move(aead)));
}

absl::StatusOr<std::shared_ptr<const VersionKey>> NewRandomVersionKey() {
  KMS_ASSIGN_OR_RETURN(SecretBytes material, SecretBytes::New(kCmkSize));
  internal::FillRandomFromKernel(material.mutable_span());
  return MakeVersionKey(std::move(material));
}

void State::Reindex() {
  by_version.clear();
  for (const auto& [id, key] : keys) {
    for (const VersionRecord& v : key.versions) by_version[v.id] = VersionRef{&key, &v};
  }
}

std::unique_ptr<State> State::Clone() const {
  auto copy = std::make_unique<State>();
  copy->keys = keys;
  copy->key_order = key_order;
  copy->aliases = aliases;
  copy->Reindex();
  return copy;
}

absl::StatusOr<const KeyRecord*> Resolve(const State& state, std::string_view key_id_or_alias) {
  if (key_id_or_alias.empty()) return KmsError(kms_code::kInvalidParameter, "KeyId is required");
  std::string_view key_id = key_id_or_alias;
  if (key_id_or_alias.substr(0, kAliasPrefix.size()) == kAliasPrefix) {
    auto a = state.aliases.find(key_id_or_alias);
    if (a == state.aliases.end()) {
      return KmsError(kms_code::kAliasNotFound, absl::StrCat("no alias ", Av(key_id_or_alias)));
    }
    key_id = a->second;
  }
  auto k = state.keys.find(key_id);
  if (k == state.keys.end()) {
    return KmsError(kms_code::kKeyNotFound, absl::StrCat("no CMK with KeyId ", Av(key_id)));
  }
  return &k->second;
}

absl::StatusOr<KeyRecord*> ResolveMutable(State& state, std::string_view key_id_or_alias) {
  KMS_ASSIGN_OR_RETURN(const KeyRecord* key, Resolve(state, key_id_or_alias));
  return const_cast<KeyRecord*>(key);  // `state` is mutable: so are its records
}

absl::StatusOr<VersionRef> ResolveVersion(const State& state, std::string_view key_version_id) {
  auto it = state.by_version.find(key_version_id);
  if (it == state.by_version.end()) {
    return KmsError(kms_code::kInvalidCiphertext,
                    "CiphertextBlob names a key version this store does not hold");
  }
  return it->second;
}

bool IsLookupMiss(const absl::Status& status) {
  const std::string code = GetKmsErrorCode(status);
  return code == kms_code::kKeyNotFound || code == kms_code::kAliasNotFound ||
         code == kms_code::kInvalidCiphertext;
}

absl::Status CheckUsable(const KeyRecord& k) {
  if (k.state == kKeyStateEnabled) return absl::OkStatus();
  if (k.state == kKeyStateDisabled) {
    return KmsError(kms_code::kDisabled, absl::StrCat("CMK ", k.key_id, " is Disabled"));
  }
  return KmsError(kms_code::kPendingDeletion,
                  absl::StrCat("CMK ", k.key_id, " is PendingDeletion"));
}

KeyMetadata ToMetadata(const KeyRecord& k) {
  KeyMetadata m;
  m.key_id = k.key_id;
  m.description = k.description;
  m.key_state = k.state;
  m.creation_date = k.creation_date;
  m.delete_date = k.delete_date;
  m.primary_key_version = k.versions.empty() ? "" : k.versions[k.primary].id;
  m.last_rotation_date = k.last_rotation_date;
  m.arn = absl::StrCat("acs:kms:local:0:key/", k.key_id);
  for (const VersionRecord& v : k.versions) m.key_version_ids.push_back(v.id);
  m.automatic_rotation = std::string(k.automatic_rotation ? kAutomaticRotationEnabled
                                                          : kAutomaticRotationDisabled);
  if (!k.versions.empty()) m.primary_key_version_wrap_count = k.versions[k.primary].wraps_reserved;
  return m;
}

AliasMetadata ToAliasMetadata(const std::string& alias_name, const std::string& key_id) {
  return AliasMetadata{alias_name, absl::StrCat("acs:kms:local:0:", alias_name), key_id};
}

}  // namespace local
}  // namespace kms_envelope
