// `branch-key create|rotate|list`: administration of branch keys (docs/branch-keys.md).
#ifndef KMS_ENVELOPE_CLI_BRANCH_KEY_COMMANDS_H_
#define KMS_ENVELOPE_CLI_BRANCH_KEY_COMMANDS_H_

#include <CLI/CLI.hpp>

#include "kms_envelope/cli/cli_common.h"

namespace kms_envelope {
namespace cli {

void RegisterBranchKeyCommands(CLI::App& app, GlobalOptions& options);

}  // namespace cli
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_CLI_BRANCH_KEY_COMMANDS_H_
