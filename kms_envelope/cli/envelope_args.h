// The arguments and flags the file commands share (encrypt, decrypt, inspect, rewrap).
//
//   auto args = std::make_shared<EnvelopeArgs>();
//   AddProgressFlags(cmd, *args);
//   KMS_ASSIGN_OR_RETURN(EncryptionContext ctx, ParseContextArgs(args->context));
//   KMS_ASSIGN_OR_RETURN(std::shared_ptr<KeyProvider> kms, SharedProvider(global));
//
// ParseContextArgs refuses an argument without "=" or with an empty key (InvalidParameter).
// Not thread-safe (one command per process).
#ifndef KMS_ENVELOPE_CLI_ENVELOPE_ARGS_H_
#define KMS_ENVELOPE_CLI_ENVELOPE_ARGS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "absl/status/statusor.h"
#include "kms_envelope/cli/cli_common.h"
#include "kms_envelope/cli/cli_streams.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/envelope/format.h"
#include "kms_envelope/key_provider.h"

namespace kms_envelope {
namespace cli {

struct EnvelopeArgs {
  std::string input = "-";
  std::string output = "-";
  std::string key_id;
  std::vector<std::string> additional_key_ids;
  std::vector<std::string> allowed_key_ids;
  std::vector<std::string> context;
  std::string suite = "aes-256-gcm";
  uint32_t frame_size = envelope::kDefaultFrameSize;
  std::string ciphertext_blob;
  std::string encryption_context_json;
  std::vector<std::string> paths;
  bool recursive = false;
  ProgressMode progress = ProgressMode::kAuto;
};

// --context key=value arguments as an EncryptionContext.
[[nodiscard]] absl::StatusOr<EncryptionContext> ParseContextArgs(
    const std::vector<std::string>& args);

// The provider the global options name, shareable between wrapping keys.
[[nodiscard]] absl::StatusOr<std::shared_ptr<KeyProvider>> SharedProvider(
    const GlobalOptions& global);

// --context (required pairs) and --allow-key-id, for the commands that open messages.
void AddCommonEnvelopeFlags(CLI::App* cmd, EnvelopeArgs& args);
// --progress / --no-progress.
void AddProgressFlags(CLI::App* cmd, EnvelopeArgs& args);

}  // namespace cli
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_CLI_ENVELOPE_ARGS_H_
