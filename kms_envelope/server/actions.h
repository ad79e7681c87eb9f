// Actions of `kms-envelope serve`: the one place an action is declared, as {name, the
// parameters it accepts, the check of the CMKs it names, the handler}.
//
//   const ActionSpec* spec = FindAction("Decrypt");           // nullptr: InvalidAction
//   KMS_RETURN_IF_ERROR(params.CheckAccepted(spec->name, spec->params, spec->map_params));
//   ActionEnv env{store, provider, access_key, now};
//   KeyPolicy policy(store, access_key);
//   KMS_RETURN_IF_ERROR(spec->check_keys(env, params, policy)); // before any decryption
//   ... record the nonce ...
//   KMS_ASSIGN_OR_RETURN(WipedJson result, spec->handler(env, params, policy));
//
// Contract:
// - `params` / `map_params` list every parameter the action understands (map parameters in
//   either style, request_params.h); the server refuses any other before calling anything here.
// - `check_keys` runs the key policy on every CMK the request names (KeyId, DestinationKeyId,
//   the CMK a CiphertextBlob names) and nothing else: no decryption, no state change. The
//   server records the request's nonce only after it passed, then calls `handler`.
// - Handlers return the response fields (without RequestId) in a JSON whose strings are wiped
//   when freed (a Plaintext travels in it); errors carry the KMS code (kms_error.h).
// - The table is immutable; handlers are safe to call concurrently (the store and provider are).
#ifndef KMS_ENVELOPE_SERVER_ACTIONS_H_
#define KMS_ENVELOPE_SERVER_ACTIONS_H_

#include <map>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kms_envelope/local/local_key_provider.h"
#include "kms_envelope/local/local_key_store.h"
#include "kms_envelope/kms_api/wiped_json.h"
#include "kms_envelope/server/access_policy.h"
#include "kms_envelope/server/key_policy.h"
#include "kms_envelope/server/request_params.h"

namespace kms_envelope {
namespace server {

using kms_api::WipedJson;

inline constexpr int kDefaultPageSize = 10;
inline constexpr int kMaxPageSize = 100;

struct ActionEnv {
  local::LocalKeyStore& store;
  local::LocalKeyProvider& provider;
  const AccessKey& key;
  absl::Time now;
};

struct ActionSpec {
  std::string_view name;
  std::vector<std::string_view> params;      // scalar parameters
  std::vector<std::string_view> map_params;  // JSON string or flattened `Name.<key>`
  absl::Status (*check_keys)(const ActionEnv&, const Params&, KeyPolicy&);
  absl::StatusOr<WipedJson> (*handler)(const ActionEnv&, const Params&, KeyPolicy&);
};

// The action called `name`, or nullptr.
const ActionSpec* FindAction(std::string_view name);

}  // namespace server
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_SERVER_ACTIONS_H_
