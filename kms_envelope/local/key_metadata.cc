#include "kms_envelope/local/key_metadata.h"

namespace kms_envelope {
namespace local {

bool IsValidAliasName(std::string_view alias_name) {
  if (alias_name.size() <= kAliasPrefix.size() || alias_name.size() > kMaxAliasNameSize) {
    return false;
  }
  if (alias_name.substr(0, kAliasPrefix.size()) != kAliasPrefix ||
      alias_name.substr(0, 9) == "alias/acs") {
    return false;
  }
  for (char c : alias_name.substr(kAliasPrefix.size())) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == ':' || c == '/' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace local
}  // namespace kms_envelope
