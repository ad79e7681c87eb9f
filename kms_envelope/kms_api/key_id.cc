#include "kms_envelope/kms_api/key_id.h"

namespace kms_envelope {
namespace kms_api {

bool IsAlias(std::string_view key_id) { return key_id.substr(0, kAliasPrefix.size()) == kAliasPrefix; }

bool IsValidAliasName(std::string_view alias_name) {
  if (alias_name.size() <= kAliasPrefix.size() || alias_name.size() > kMaxAliasNameSize) {
    return false;
  }
  if (!IsAlias(alias_name)) return false;
  if (alias_name.substr(0, kReservedAliasPrefix.size()) == kReservedAliasPrefix) return false;
  for (char c : alias_name.substr(kAliasPrefix.size())) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == ':' || c == '/' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace kms_api
}  // namespace kms_envelope
