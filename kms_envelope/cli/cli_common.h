// Shared plumbing of the `kms-envelope` command line: global options, provider construction,
// JSON output and error reporting. Each area registers its own subcommands:
//   key_commands.cc      key, alias, datakey                     RegisterKeyCommands
//   envelope_commands.cc encrypt, decrypt, inspect               RegisterEnvelopeCommands
//   rewrap_command.cc    rewrap                                  RegisterRewrapCommand
//   completion_command.cc completion bash|zsh                    RegisterCompletionCommand
//   serve_command.cc     serve                                   RegisterServeCommand
//
// Every command prints its result as JSON on stdout (API response shape where one exists) and,
// on failure, {"Code": "...", "Message": "..."} on stderr with a non-zero exit status (usage
// errors too, exit status kExitUsage). A result that cannot be written to stdout (closed, full,
// broken pipe) fails the command; when the command had already changed state (a key created, a
// file written) the error on stderr carries that result under "Result" so no new id is lost.
#ifndef KMS_ENVELOPE_CLI_CLI_COMMON_H_
#define KMS_ENVELOPE_CLI_CLI_COMMON_H_

#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kms_envelope/config/provider_flags.h"
#include "kms_envelope/key_provider.h"

namespace kms_envelope {
namespace cli {

// Exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;   // the operation failed (bad input, KMS error, ...)
inline constexpr int kExitUsage = 2;   // the command line itself was malformed

// Local error codes for what the KMS API has no code for (documented in README.md, "Errors").
namespace cli_code {
// The input path cannot be opened or is not a file (missing, a directory, no permission).
inline constexpr std::string_view kInputPath = "InvalidParameter.InputPath";
// The -o path cannot be written (empty, a directory, its directory missing, a dangling symlink).
inline constexpr std::string_view kOutputPath = "InvalidParameter.OutputPath";
// Reading the input or writing the output (or stdout) failed after it was opened.
inline constexpr std::string_view kReadFailed = "IOError.Read";
inline constexpr std::string_view kWriteFailed = "IOError.Write";
}  // namespace cli_code

// The CLI11 type name that marks an option whose value is a file name: any bytes are accepted
// (every other option value must be UTF-8, cli_app.h).
inline constexpr char kPathType[] = "PATH";

struct GlobalOptions {
  // The provider options given as flags, in order (names from config/provider_config.h;
  // provider_factory.h turns them and the environment into a provider).
  config::GivenFlags provider_flags;
  // Set by the command actually run (its exit status).
  int exit_code = kExitOk;
};

// Writes {"Code","Message"} for `status` on stderr and returns kExitError. The message does not
// repeat the code (KmsError's "Code: " prefixes are dropped).
int ReportError(const absl::Status& status);

// Like ReportError, with {"Result": result} added: the command changed state but could not
// print `result` on stdout.
int ReportUnprinted(const absl::Status& status, const nlohmann::json& result);

// Serializes `value`; bytes that are not UTF-8 (file names may hold any byte) become U+FFFD
// instead of throwing.
std::string DumpJson(const nlohmann::json& value);

// Prints `value` and a newline on stdout and flushes; IOError.Write when that fails.
[[nodiscard]] absl::Status PrintJson(const nlohmann::json& value);

// Prints the result of a command that changed state: on failure the result goes to stderr
// (ReportUnprinted). Returns the exit code.
int PrintStateResult(const nlohmann::json& result);

// The end of a command: the error (ReportError), or `result` printed with PrintStateResult
// (nothing for a null result). Returns the exit code.
int FinishCommand(const absl::StatusOr<nlohmann::json>& result);

// A note for the user on stderr, as JSON: {"Note": "..."}.
void ReportNote(const std::string& note);

// A subcommand that only groups others ("key", "alias"): one of them is required.
CLI::App* AddCommandGroup(CLI::App& app, const std::string& name, const std::string& help);

// Whether `s` is valid UTF-8 (the KMS API and our JSON carry only UTF-8 strings).
bool IsUtf8(std::string_view s);

void RegisterKeyCommands(CLI::App& app, GlobalOptions& options);
void RegisterEnvelopeCommands(CLI::App& app, GlobalOptions& options);
void RegisterRewrapCommand(CLI::App& app, GlobalOptions& options);
// `completion bash|zsh`: walks `app` when run, so register it on the root app.
void RegisterCompletionCommand(CLI::App& app, GlobalOptions& options);
void RegisterServeCommand(CLI::App& app, GlobalOptions& options);

}  // namespace cli
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_CLI_CLI_COMMON_H_
