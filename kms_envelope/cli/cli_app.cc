#include "kms_envelope/cli/cli_app.h"

#include <exception>
#include <string>

#include <CLI/CLI.hpp>

#include "absl/strings/str_cat.h"
#include "kms_envelope/cli/branch_key_commands.h"
#include "kms_envelope/cli/cli_common.h"
#include "kms_envelope/cli/provider_factory.h"
#include "kms_envelope/internal/aead.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/version.h"

namespace kms_envelope {
namespace cli {
namespace {

// One value per occurrence for every option, UTF-8 for every non-PATH value, in every
// subcommand: applied once to the finished definitions so no command can forget it.
void ApplyValueRules(CLI::App* app) {
  const CLI::Validator utf8(
      [](std::string& value) -> std::string {
        return IsUtf8(value) ? std::string() : std::string("is not valid UTF-8");
      },
      "", "");
  for (CLI::Option* option : app->get_options()) {
    if (option->get_expected_max() == 0) continue;  // a flag
    if (option->nonpositional()) option->allow_extra_args(false);
    if (option->get_type_name() != kPathType) option->check(utf8);
  }
  for (CLI::App* sub : app->get_subcommands({})) ApplyValueRules(sub);
}

int ReportUsageError(const CLI::ParseError& e) {
  const bool missing = dynamic_cast<const CLI::RequiredError*>(&e) != nullptr;
  ReportError(KmsError(missing ? kms_code::kMissingParameter : kms_code::kInvalidParameter,
                       absl::StrCat(e.what(), " (kms-envelope --help lists the options)")));
  return kExitUsage;
}

}  // namespace

int RunCli(int argc, char** argv) {
  CLI::App app{"kms-envelope: envelope encryption with KMS data keys", "kms-envelope"};
  app.require_subcommand(1);
  // The library version and the AES-GCM backend this process resolved (CPU dispatch or
  // KMS_ENVELOPE_AEAD_BACKEND), so a bug report says what actually ran.
  app.set_version_flag("--version", [] {
    return absl::StrCat("kms-envelope ", kVersion, "\n", internal::AesGcmBackendDescription());
  });
  GlobalOptions options;
  AddProviderFlags(app, options);
  RegisterKeyCommands(app, options);
  RegisterEnvelopeCommands(app, options);
  RegisterRewrapCommand(app, options);
  RegisterServeCommand(app, options);
  RegisterBranchKeyCommands(app, options);
  RegisterCompletionCommand(app, options);
  ApplyValueRules(&app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  } catch (const CLI::ParseError& e) {
    return ReportUsageError(e);
  } catch (const std::exception& e) {
    ReportError(KmsError(kms_code::kInternalFailure, absl::StrCat("unexpected error: ", e.what())));
    return kExitError;
  }
  return options.exit_code;
}

}  // namespace cli
}  // namespace kms_envelope
