// kms-envelope: command line over the kms_envelope library. `kms-envelope --help` lists the
// subcommands.
#include <CLI/CLI.hpp>

#include "kms_envelope/cli/branch_key_commands.h"
#include "kms_envelope/cli/cli_common.h"

int main(int argc, char** argv) {
  using namespace kms_envelope::cli;
  CLI::App app{"kms-envelope: envelope encryption with KMS data keys", "kms-envelope"};
  app.require_subcommand(1);
  GlobalOptions options;
  app.add_option("--home", options.home,
                 "local key store directory (default $KMS_ENVELOPE_HOME or ~/.kms-envelope)");
  app.add_option("--passphrase-file", options.passphrase_file,
                 "file holding the local store passphrase (Argon2id) instead of a root key file");
  app.add_option("--kms-endpoint", options.kms_endpoint,
                 "use a remote KMS (URL or region id) instead of the local store");
  app.add_option("--kms-instance-endpoint", options.kms_instance_endpoint,
                 "use a KMS 3.0 instance gateway (https://<instance>.cryptoservice.kms.aliyuncs.com)");
  app.add_option("--client-key-file", options.client_key_file, "instance ClientKey JSON file");
  app.add_option("--client-key-password-file", options.client_key_password_file,
                 "file holding the ClientKey password");
  app.add_option("--ca-file", options.ca_file, "instance CA certificate (PEM)");
  RegisterKeyCommands(app, options);
  RegisterEnvelopeCommands(app, options);
  RegisterServeCommand(app, options);
  RegisterBranchKeyCommands(app, options);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  return options.exit_code;
}
