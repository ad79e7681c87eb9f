#include "kms_envelope/config/provider_flags.h"

#include "kms_envelope/status_macros.h"

namespace kms_envelope {
namespace config {

void AddProviderFlags(CLI::App& app, std::string_view path_type, GivenFlags* given) {
  for (const ProviderOption& option : ProviderOptions()) {
    const std::string name(option.name);
    CLI::Option* flag = app.add_option_function<std::string>(
        "--" + name, [given, name](const std::string& value) { given->emplace_back(name, value); },
        std::string(option.help));
    if (option.kind == OptionKind::kPath) flag->type_name(std::string(path_type));
  }
}

absl::StatusOr<ProviderConfig> ConfigFromFlags(const GivenFlags& given,
                                               const char* const* environment) {
  ProviderConfig config;
  for (const auto& [name, value] : given) {
    KMS_RETURN_IF_ERROR(SetOption(name, value, &config));
  }
  KMS_RETURN_IF_ERROR(ApplyEnvironment(environment, &config));
  return config;
}

}  // namespace config
}  // namespace kms_envelope
