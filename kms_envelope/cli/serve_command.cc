#include "kms_envelope/cli/cli_common.h"

namespace kms_envelope {
namespace cli {

// Placeholder until this area's commands land; registers nothing.
void RegisterServeCommand(CLI::App& app, GlobalOptions& options) {}

}  // namespace cli
}  // namespace kms_envelope
