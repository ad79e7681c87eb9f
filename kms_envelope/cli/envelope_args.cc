#include "kms_envelope/cli/envelope_args.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "kms_envelope/cli/provider_factory.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace cli {

absl::StatusOr<EncryptionContext> ParseContextArgs(const std::vector<std::string>& args) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const std::string& arg : args) {
    const size_t eq = arg.find('=');
    if (eq == std::string::npos || eq == 0) {
      return KmsError(kms_code::kInvalidParameter,
                      absl::StrCat("--context expects key=value, got \"", arg, "\""));
    }
    pairs.emplace_back(arg.substr(0, eq), arg.substr(eq + 1));
  }
  return EncryptionContext::FromPairs(pairs);
}

absl::StatusOr<std::shared_ptr<KeyProvider>> SharedProvider(const GlobalOptions& global) {
  auto provider = MakeProvider(global);
  if (!provider.ok()) return provider.status();
  return std::shared_ptr<KeyProvider>(std::move(*provider));
}

void AddCommonEnvelopeFlags(CLI::App* cmd, EnvelopeArgs& args) {
  cmd->add_option("--context", args.context,
                  "key=value the message's encryption context must contain (repeatable)");
  cmd->add_option("--allow-key-id", args.allowed_key_ids,
                  "only unwrap data keys wrapped by this CMK GUID (repeatable)");
}

void AddProgressFlags(CLI::App* cmd, EnvelopeArgs& args) {
  cmd->add_flag_callback("--progress", [&args] { args.progress = ProgressMode::kOn; },
                         "progress line on stderr (default: when stderr is a terminal)");
  cmd->add_flag_callback("--no-progress", [&args] { args.progress = ProgressMode::kOff; },
                         "no progress line");
}

}  // namespace cli
}  // namespace kms_envelope
