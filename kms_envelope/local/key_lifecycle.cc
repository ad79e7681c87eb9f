#include "kms_envelope/local/key_lifecycle.h"

#include <algorithm>
#include <initializer_list>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"
#include "kms_envelope/internal/iso_time.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/internal/uuid.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/status_macros.h"

namespace kms_envelope {
namespace local {
namespace lifecycle {
namespace {

using internal::Av;

constexpr std::initializer_list<std::string_view> kLiveStates = {kKeyStateEnabled,
                                                                  kKeyStateDisabled};

// Applies `apply` to the key when it is in one of `allowed_from`.
template <typename F>
absl::StatusOr<KeyMetadata> Transition(State& state, std::string_view key,
                                       std::initializer_list<std::string_view> allowed_from,
                                       std::string_view action, F&& apply) {
  KMS_ASSIGN_OR_RETURN(KeyRecord* k, ResolveMutable(state, key));
  if (std::find(allowed_from.begin(), allowed_from.end(), k->state) == allowed_from.end()) {
    return KmsError(kms_code::kStateModifiedFailed,
                    absl::StrCat(Av(action), " is not allowed for CMK ", k->key_id,
                                 " in state ", k->state));
  }
  apply(*k);
  return ToMetadata(*k);
}

// Adds `material` as the new primary version of `k` (CreateKeyVersion); returns its id.
const std::string& AddPrimaryVersion(KeyRecord& k, std::shared_ptr<const VersionKey> material,
                                     absl::Time now) {
  VersionRecord v;
  internal::RandomUuidInto(&v.id);
  v.creation_date = internal::FormatIsoTime(now);
  v.key = std::move(material);
  k.last_rotation_date = v.creation_date;
  k.versions.push_back(std::move(v));
  k.primary = k.versions.size() - 1;
  return k.versions.back().id;
}

absl::Status AliasNotFound(std::string_view alias_name) {
  return KmsError(kms_code::kAliasNotFound, absl::StrCat("no alias ", Av(alias_name)));
}

}  // namespace

absl::StatusOr<KeyMetadata> CreateKey(State& state, std::string_view description,
                                      std::shared_ptr<const VersionKey> material,
                                      absl::Time now) {
  if (description.size() > kMaxDescriptionSize) {
    return KmsError(kms_code::kInvalidParameter, "Description is too long");
  }
  KeyRecord k;
  internal::RandomUuidInto(&k.key_id);
  k.description = std::string(description);
  k.state = std::string(kKeyStateEnabled);
  k.creation_date = internal::FormatIsoTime(now);
  AddPrimaryVersion(k, std::move(material), now);
  KeyMetadata result = ToMetadata(k);
  state.key_order.push_back(k.key_id);
  std::string id = k.key_id;
  state.keys.emplace(std::move(id), std::move(k));
  return result;
}

absl::StatusOr<KeyMetadata> EnableKey(State& state, std::string_view key) {
  return Transition(state, key, kLiveStates, "EnableKey",
                    [](KeyRecord& k) { k.state = std::string(kKeyStateEnabled); });
}

absl::StatusOr<KeyMetadata> DisableKey(State& state, std::string_view key) {
  return Transition(state, key, kLiveStates, "DisableKey",
                    [](KeyRecord& k) { k.state = std::string(kKeyStateDisabled); });
}

absl::StatusOr<KeyMetadata> ScheduleKeyDeletion(State& state, std::string_view key,
                                                int pending_window_in_days, absl::Time now) {
  if (pending_window_in_days < kMinPendingWindowDays ||
      pending_window_in_days > kMaxPendingWindowDays) {
    return KmsError(kms_code::kInvalidParameter,
                    absl::StrCat("PendingWindowInDays must be ", kMinPendingWindowDays, "..",
                                 kMaxPendingWindowDays));
  }
  return Transition(state, key, kLiveStates, "ScheduleKeyDeletion", [&](KeyRecord& k) {
    k.state = std::string(kKeyStatePendingDeletion);
    k.delete_date = internal::FormatIsoTime(now + absl::Hours(24) * pending_window_in_days);
  });
}

absl::StatusOr<KeyMetadata> CancelKeyDeletion(State& state, std::string_view key) {
  return Transition(state, key, {kKeyStatePendingDeletion}, "CancelKeyDeletion",
                    [](KeyRecord& k) {
                      k.state = std::string(kKeyStateEnabled);
                      k.delete_date.clear();
                    });
}

absl::StatusOr<KeyMetadata> SetAutomaticRotation(State& state, std::string_view key,
                                                 bool enabled) {
  return Transition(state, key, kLiveStates, "UpdateRotationPolicy",
                    [&](KeyRecord& k) { k.automatic_rotation = enabled; });
}

absl::StatusOr<std::vector<std::string>> PurgeDueKeys(State& state, absl::Time now) {
  std::vector<std::string> purged;
  for (const std::string& id : state.key_order) {
    const KeyRecord& k = state.keys.at(id);
    if (k.state != kKeyStatePendingDeletion) continue;
    absl::StatusOr<absl::Time> due = internal::ParseIsoTime(k.delete_date);
    if (!due.ok()) {
      return absl::DataLossError(absl::StrCat("CMK ", id, " has an unreadable DeleteDate"));
    }
    if (*due <= now) purged.push_back(id);
  }
  for (const std::string& id : purged) {
    for (auto it = state.aliases.begin(); it != state.aliases.end();) {
      it = it->second == id ? state.aliases.erase(it) : std::next(it);
    }
    // The version keys are wiped when the last state that holds them (this one's
    // predecessor, a concurrent reader's) is gone.
    state.keys.erase(id);
    state.key_order.erase(std::find(state.key_order.begin(), state.key_order.end(), id));
  }
  return purged;
}

absl::StatusOr<std::string> RotateKey(State& state, std::string_view key,
                                      std::shared_ptr<const VersionKey> material,
                                      absl::Time now) {
  KMS_ASSIGN_OR_RETURN(KeyRecord* k, ResolveMutable(state, key));
  KMS_RETURN_IF_ERROR(CheckUsable(*k));
  return AddPrimaryVersion(*k, std::move(material), now);
}

absl::Status CreateAlias(State& state, std::string_view alias_name, std::string_view key) {
  if (!IsValidAliasName(alias_name)) {
    return KmsError(kms_code::kInvalidParameter,
                    absl::StrCat("AliasName must be alias/ followed by [a-zA-Z0-9:/_-], at most ",
                                 kMaxAliasNameSize, " characters, not alias/acs..."));
  }
  if (state.aliases.find(alias_name) != state.aliases.end()) {
    return KmsError(kms_code::kAliasAlreadyExists,
                    absl::StrCat("alias ", Av(alias_name), " already exists"));
  }
  KMS_ASSIGN_OR_RETURN(const KeyRecord* k, Resolve(state, key));
  state.aliases.emplace(std::string(alias_name), k->key_id);
  return absl::OkStatus();
}

absl::Status UpdateAlias(State& state, std::string_view alias_name, std::string_view key) {
  auto a = state.aliases.find(alias_name);
  if (a == state.aliases.end()) return AliasNotFound(alias_name);
  KMS_ASSIGN_OR_RETURN(const KeyRecord* k, Resolve(state, key));
  a->second = k->key_id;
  return absl::OkStatus();
}

absl::Status DeleteAlias(State& state, std::string_view alias_name) {
  auto a = state.aliases.find(alias_name);
  if (a == state.aliases.end()) return AliasNotFound(alias_name);
  state.aliases.erase(a);
  return absl::OkStatus();
}

absl::Status WrapLimitReached(const KeyRecord& k, const VersionRecord& v, uint64_t limit) {
  return KmsError(kms_code::kLimitExceeded,
                  absl::StrCat("CMK ", k.key_id, " version ", v.id, " has reached its limit of ",
                               limit, " wraps (AES-GCM with random IVs) and its AutomaticRotation "
                               "is Disabled: rotate the key or enable automatic rotation; "
                               "Decrypt still works"));
}

absl::StatusOr<uint64_t> ReserveWraps(State& state, std::string_view version_id,
                                      const WrapAllowance& wraps, const WrapPolicy& policy,
                                      absl::Time now) {
  const absl::Status moved_on = absl::AbortedError("version no longer primary or gone");
  auto it = state.by_version.find(version_id);
  if (it == state.by_version.end()) return moved_on;
  // `state` is mutable: so are the records its index points at.
  KeyRecord& k = const_cast<KeyRecord&>(*it->second.key);
  VersionRecord& v = const_cast<VersionRecord&>(*it->second.version);
  KMS_RETURN_IF_ERROR(CheckUsable(k));
  const uint64_t grant = wraps.NextGrant(v.wraps_reserved, policy.limit, policy.max_range);
  if (grant > 0) {
    v.wraps_reserved += grant;
    return grant;
  }
  if (&k.versions[k.primary] != &v) return moved_on;
  if (!k.automatic_rotation) return WrapLimitReached(k, v, policy.limit);
  KMS_ASSIGN_OR_RETURN(std::shared_ptr<const VersionKey> fresh, NewRandomVersionKey());
  AddPrimaryVersion(k, std::move(fresh), now);
  return 0;
}

}  // namespace lifecycle
}  // namespace local
}  // namespace kms_envelope
