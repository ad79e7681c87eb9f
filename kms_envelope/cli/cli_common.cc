#include "kms_envelope/cli/cli_common.h"

#include <cstdlib>
#include <iostream>

#include <nlohmann/json.hpp>

#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace cli {

std::string ResolveHome(const GlobalOptions& options) {
  if (!options.home.empty()) return options.home;
  if (const char* env = std::getenv("KMS_ENVELOPE_HOME"); env != nullptr && *env != '\0') {
    return env;
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : ".") + "/.kms-envelope";
}

int ReportError(const absl::Status& status) {
  nlohmann::json error = {{"Code", KmsCodeOrDefault(status)},
                          {"Message", std::string(status.message())}};
  std::cerr << error.dump() << std::endl;
  return kExitError;
}

void PrintJson(const std::string& json) { std::cout << json << std::endl; }

}  // namespace cli
}  // namespace kms_envelope
