// The `key`, `alias` and `datakey` subcommands (registered by RegisterKeyCommands, cli_common.h),
// plus the KMS Decrypt entry point shared with the envelope commands.
#ifndef KMS_ENVELOPE_CLI_KEY_COMMANDS_H_
#define KMS_ENVELOPE_CLI_KEY_COMMANDS_H_

#include <string>

#include "kms_envelope/cli/cli_common.h"

namespace kms_envelope {
namespace cli {

// KMS Decrypt of a base64 CiphertextBlob with an optional EncryptionContext JSON ("" = empty).
// Prints {"KeyId","KeyVersionId","Plaintext"(base64),"RequestId"} on success, the error JSON
// on failure; returns the exit code (also stored in options.exit_code).
int RunKmsDecrypt(GlobalOptions& options, const std::string& ciphertext_blob_b64,
                  const std::string& context_json);

}  // namespace cli
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_CLI_KEY_COMMANDS_H_
