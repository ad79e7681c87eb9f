// Shared plumbing of the `kms-envelope` command line: global options, provider construction,
// JSON output and error reporting. Each area registers its own subcommands:
//   key_commands.cc      key, alias, datakey (issue 2)          RegisterKeyCommands
//   envelope_commands.cc encrypt, decrypt, inspect, rewrap       RegisterEnvelopeCommands
//   serve_command.cc     serve                                   RegisterServeCommand
//
// Every command prints its result as JSON on stdout (API response shape where one exists) and,
// on failure, {"Code": "...", "Message": "..."} on stderr with a non-zero exit status.
#ifndef KMS_ENVELOPE_CLI_CLI_COMMON_H_
#define KMS_ENVELOPE_CLI_CLI_COMMON_H_

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kms_envelope/key_provider.h"

namespace kms_envelope {
namespace cli {

// Exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;   // the operation failed (bad input, KMS error, ...)
inline constexpr int kExitUsage = 2;   // the command line itself was malformed

struct GlobalOptions {
  // Local key store directory: --home, else $KMS_ENVELOPE_HOME, else ~/.kms-envelope.
  std::string home;
  // Passphrase file for the local store's root key (Argon2id) instead of a key file.
  std::string passphrase_file;
  // Remote provider: when set, commands use the KMS RPC API at this endpoint (URL, or a region
  // id such as cn-hangzhou for https://kms.<region>.aliyuncs.com); credentials from the
  // environment (ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET/SECURITY_TOKEN).
  std::string kms_endpoint;
  // KMS 3.0 instance provider (docs/kms-instance.md): the gateway URL, the ClientKey file and
  // its password file, and the instance CA (PEM).
  std::string kms_instance_endpoint;
  std::string client_key_file;
  std::string client_key_password_file;
  std::string ca_file;
  // Set by the command actually run (its exit status).
  int exit_code = kExitOk;
};

// The store directory the options name (flag, environment, default).
std::string ResolveHome(const GlobalOptions& options);

// Writes {"Code","Message"} for `status` on stderr and returns kExitError.
int ReportError(const absl::Status& status);

// Prints `json` (already serialized) and a newline on stdout.
void PrintJson(const std::string& json);

void RegisterKeyCommands(CLI::App& app, GlobalOptions& options);
void RegisterEnvelopeCommands(CLI::App& app, GlobalOptions& options);
void RegisterServeCommand(CLI::App& app, GlobalOptions& options);

}  // namespace cli
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_CLI_CLI_COMMON_H_
