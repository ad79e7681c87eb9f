// The provider options as CLI11 flags, for every command-line front end (the kms-envelope CLI,
// kms-rocksdb-rewrap): one "--<name>" flag per row of ProviderOptions().
//
//   std::vector<std::pair<std::string, std::string>> given;
//   AddProviderFlags(app, "PATH", &given);
//   app.parse(argc, argv);
//   KMS_ASSIGN_OR_RETURN(ProviderConfig config, ConfigFromFlags(given, environ));
#ifndef KMS_ENVELOPE_CONFIG_PROVIDER_FLAGS_H_
#define KMS_ENVELOPE_CONFIG_PROVIDER_FLAGS_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "absl/status/statusor.h"
#include "kms_envelope/config/provider_config.h"

namespace kms_envelope {
namespace config {

using GivenFlags = std::vector<std::pair<std::string, std::string>>;

// Registers the flags on `app`; each occurrence appends (name, value) to `*given`, which must
// outlive parsing. Path options get the type name `path_type`.
void AddProviderFlags(CLI::App& app, std::string_view path_type, GivenFlags* given);

// The config the flags give (SetOption, in order), then the environment (ApplyEnvironment).
[[nodiscard]] absl::StatusOr<ProviderConfig> ConfigFromFlags(const GivenFlags& given,
                                                             const char* const* environment);

}  // namespace config
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_CONFIG_PROVIDER_FLAGS_H_
