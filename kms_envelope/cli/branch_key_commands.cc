// `branch-key` subcommands: branch keys (docs/branch-keys.md) wrapped by a CMK of the provider
// the global options name (the local store, or --kms-endpoint), kept in a branch key store.
//
//   kms-envelope branch-key create --branch-key-id tenant-acme --key-id alias/root
//   kms-envelope branch-key rotate --branch-key-id tenant-acme
//   kms-envelope branch-key list [--branch-key-id tenant-acme]
//   ... --store postgresql:"host=db dbname=app user=kmse"   (default file:<home>/branch-keys)
//
// Output: {"BranchKeyVersion": {...}} or {"BranchKeys": [{"BranchKeyId", "ActiveVersion",
// "Versions": [...]}]}; errors are {"Code","Message"} on stderr (cli_common.h). No key
// material is printed: only ids, versions, CMK ids and dates.
#include "kms_envelope/internal/uuid.h"
#include "kms_envelope/cli/branch_key_commands.h"

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "kms_envelope/branch/branch_key_admin.h"
#include "kms_envelope/branch/branch_key_store_spec.h"
#include "kms_envelope/cli/provider_factory.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/local/local_key_store.h"

namespace kms_envelope {
namespace cli {
namespace {

using json = nlohmann::json;

struct BranchArgs {
  std::string store;
  std::string branch_key_id;
  std::string key_id;
};

json VersionJson(const branch::BranchKeyVersion& v) {
  return {{"BranchKeyId", v.branch_key_id}, {"Version", v.version},
          {"KeyId", v.cmk_key_id},          {"CreateTime", v.create_time},
          {"Active", v.active}};
}

absl::StatusOr<std::shared_ptr<branch::BranchKeyStore>> OpenStore(const GlobalOptions& options,
                                                                  const BranchArgs& args) {
  if (!args.store.empty()) return branch::OpenBranchKeyStore(args.store);
  KMS_ASSIGN_OR_RETURN(std::string home, ResolveHome(options));
  return branch::OpenBranchKeyStore(absl::StrCat("file:", home, "/branch-keys"));
}

absl::StatusOr<json> ListJson(branch::BranchKeyStore& store, const std::string& only) {
  std::vector<std::string> ids = {only};
  if (only.empty()) {
    KMS_ASSIGN_OR_RETURN(ids, store.ListBranchKeyIds());
  }
  json keys = json::array();
  for (const std::string& id : ids) {
    KMS_ASSIGN_OR_RETURN(std::vector<branch::BranchKeyVersion> versions, store.ListVersions(id));
    json list = json::array();
    uint32_t active = 0;
    for (const auto& v : versions) {
      list.push_back(VersionJson(v));
      if (v.active) active = v.version;
    }
    keys.push_back({{"BranchKeyId", id}, {"ActiveVersion", active}, {"Versions", std::move(list)}});
  }
  std::string request_id;
  internal::RandomUuidInto(&request_id);
  return json{{"BranchKeys", std::move(keys)}, {"RequestId", request_id}};
}

// Runs `fn` with the store (and the KMS when `needs_kms`), prints its JSON or the error.
void Run(GlobalOptions& options, const BranchArgs& args, bool needs_kms,
         const std::function<absl::StatusOr<json>(KeyProvider*, branch::BranchKeyStore&)>& fn) {
  absl::StatusOr<json> result = [&]() -> absl::StatusOr<json> {
    std::shared_ptr<KeyProvider> kms;
    if (needs_kms) {
      KMS_ASSIGN_OR_RETURN(kms, MakeBaseProvider(options));
    }
    KMS_ASSIGN_OR_RETURN(std::shared_ptr<branch::BranchKeyStore> store, OpenStore(options, args));
    return fn(kms.get(), *store);
  }();
  options.exit_code = FinishCommand(result);  // an unprintable result goes to stderr
}

json WithRequestId(json body) {
  std::string request_id;
  internal::RandomUuidInto(&request_id);
  body["RequestId"] = request_id;
  return body;
}

// create / rotate: `op(kms, key_id, store, branch_key_id)` makes the new version, printed.
template <typename Op>
void OnNewVersion(CLI::App* cmd, GlobalOptions& options, std::shared_ptr<BranchArgs> args, Op op) {
  cmd->callback([&options, args, op] {
    Run(options, *args, true, [&](KeyProvider* kms, branch::BranchKeyStore& store) -> absl::StatusOr<json> {
      KMS_ASSIGN_OR_RETURN(branch::BranchKeyVersion v,
                           op(*kms, args->key_id, store, args->branch_key_id));
      return WithRequestId({{"BranchKeyVersion", VersionJson(v)}});
    });
  });
}

}  // namespace

void RegisterBranchKeyCommands(CLI::App& app, GlobalOptions& options) {
  CLI::App* cmd = AddCommandGroup(
      app, "branch-key", "manage branch keys (per-tenant keys that wrap data keys without a KMS call)");
  auto args = std::make_shared<BranchArgs>();
  const char* store_help =
      "branch key store: file:<dir> or postgresql:<libpq connection string> "
      "(default file:<home>/branch-keys)";

  CLI::App* create = cmd->add_subcommand("create", "a new branch key (version 1, active)");
  create->add_option("--branch-key-id", args->branch_key_id, "1..128 of [A-Za-z0-9._:/@-]")
      ->required();
  create->add_option("--key-id", args->key_id, "the CMK that wraps it (GUID or alias/<name>)")
      ->required();
  create->add_option("--store", args->store, store_help)->type_name(kPathType);
  OnNewVersion(create, options, args, [](auto&&... a) { return branch::CreateBranchKey(a...); });

  CLI::App* rotate = cmd->add_subcommand("rotate", "a new active version; old ones still decrypt");
  rotate->add_option("--branch-key-id", args->branch_key_id, "the branch key")->required();
  rotate->add_option("--key-id", args->key_id, "wrap under this CMK (default: the active one's)");
  rotate->add_option("--store", args->store, store_help)->type_name(kPathType);
  OnNewVersion(rotate, options, args, [](auto&&... a) { return branch::RotateBranchKey(a...); });

  CLI::App* list = cmd->add_subcommand("list", "branch keys and their versions");
  list->add_option("--branch-key-id", args->branch_key_id, "only this one");
  list->add_option("--store", args->store, store_help)->type_name(kPathType);
  list->callback([&options, args] {
    Run(options, *args, false, [&](KeyProvider*, branch::BranchKeyStore& store) {
      return ListJson(store, args->branch_key_id);
    });
  });
}

}  // namespace cli
}  // namespace kms_envelope
