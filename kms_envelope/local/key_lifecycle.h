// What the administrative calls and the wrap limit do to a key store's State: creation, state
// transitions, rotation, deletion, aliases, and reserving wraps under a CMK version. Pure
// functions over a State the caller owns (LocalKeyStore runs them on a private copy under its
// locks, then persists and publishes it); the only side effect is new random key material.
//
//   KMS_ASSIGN_OR_RETURN(KeyMetadata m, lifecycle::DisableKey(state, "alias/backup"));
//   KMS_ASSIGN_OR_RETURN(std::string v, lifecycle::RotateKey(state, "alias/backup", key, now));
//
// Errors are the service's: Forbidden.KeyNotFound / Forbidden.AliasNotFound for unknown names,
// Rejected.StateModifiedFailed for a transition from the wrong state, Rejected.Disabled /
// Rejected.PendingDeletion for using a key that is not Enabled, Rejected.AliasAlreadyExists,
// Rejected.LimitExceeded at the wrap limit, InvalidParameter for bad arguments. A failed
// call may have changed nothing the caller keeps: it discards the copy.
#ifndef KMS_ENVELOPE_LOCAL_KEY_LIFECYCLE_H_
#define KMS_ENVELOPE_LOCAL_KEY_LIFECYCLE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kms_envelope/local/key_metadata.h"
#include "kms_envelope/local/store_state.h"
#include "kms_envelope/local/wrap_counter.h"

namespace kms_envelope {
namespace local {
namespace lifecycle {

[[nodiscard]] absl::StatusOr<KeyMetadata> CreateKey(State& state, std::string_view description,
                                                    std::shared_ptr<const VersionKey> material,
                                                    absl::Time now);
[[nodiscard]] absl::StatusOr<KeyMetadata> EnableKey(State& state, std::string_view key);
[[nodiscard]] absl::StatusOr<KeyMetadata> DisableKey(State& state, std::string_view key);
[[nodiscard]] absl::StatusOr<KeyMetadata> ScheduleKeyDeletion(State& state, std::string_view key,
                                                              int pending_window_in_days,
                                                              absl::Time now);
[[nodiscard]] absl::StatusOr<KeyMetadata> CancelKeyDeletion(State& state, std::string_view key);
[[nodiscard]] absl::StatusOr<KeyMetadata> SetAutomaticRotation(State& state, std::string_view key,
                                                               bool enabled);
// Removes every PendingDeletion key whose DeleteDate is not after `now`, with its aliases;
// returns their ids (oldest first; empty: nothing changed).
[[nodiscard]] absl::StatusOr<std::vector<std::string>> PurgeDueKeys(State& state, absl::Time now);
// A new primary version of an Enabled key; returns its KeyVersionId.
[[nodiscard]] absl::StatusOr<std::string> RotateKey(State& state, std::string_view key,
                                                    std::shared_ptr<const VersionKey> material,
                                                    absl::Time now);

[[nodiscard]] absl::Status CreateAlias(State& state, std::string_view alias_name,
                                       std::string_view key);
[[nodiscard]] absl::Status UpdateAlias(State& state, std::string_view alias_name,
                                       std::string_view key);
[[nodiscard]] absl::Status DeleteAlias(State& state, std::string_view alias_name);

struct WrapPolicy {
  uint64_t limit = kDefaultWrapLimit;
  uint64_t max_range = kDefaultWrapReservation;
};

// Rejected.LimitExceeded for `version` of `key`.
[[nodiscard]] absl::Status WrapLimitReached(const KeyRecord& key, const VersionRecord& version,
                                            uint64_t limit);

// The next range of wraps this process may spend under `version_id` (whose allowance is
// `wraps`), counted into the version's WrapsReserved. 0 when the version was at the limit and
// the key rotated instead (AutomaticRotation Enabled; the caller retries under the new
// primary). Aborted when the version is gone or no longer primary at the limit (retry);
// Rejected.LimitExceeded at the limit with AutomaticRotation Disabled.
[[nodiscard]] absl::StatusOr<uint64_t> ReserveWraps(State& state, std::string_view version_id,
                                                    const WrapAllowance& wraps,
                                                    const WrapPolicy& policy, absl::Time now);

}  // namespace lifecycle
}  // namespace local
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_LOCAL_KEY_LIFECYCLE_H_
