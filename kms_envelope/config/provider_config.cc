#include "kms_envelope/config/provider_config.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/status_macros.h"

namespace kms_envelope {
namespace config {
namespace {

using internal::Av;

constexpr std::string_view kEnvironmentPrefix = "KMS_ENVELOPE_";
// Numbers above this are refused as malformed rather than wrapped (each limit's own bound is
// checked by the component that uses it).
constexpr uint64_t kMaxNumber = uint64_t{1} << 62;

using C = ProviderConfig;
constexpr OptionKind kText = OptionKind::kText;
constexpr OptionKind kPath = OptionKind::kPath;
constexpr OptionKind kNumber = OptionKind::kNumber;

constexpr ProviderOption kOptions[] = {
    {"home", kPath, &C::home, nullptr, "", "local key store directory (default ~/.kms-envelope)"},
    {"root-key-file", kPath, &C::root_key_file, nullptr, "",
     "local store root key file (default <home>/root.key)"},
    {"passphrase-file", kPath, &C::passphrase_file, nullptr, "",
     "file holding the local store passphrase (Argon2id) instead of a root key file"},
    {"kms-endpoint", kText, &C::kms_endpoint, nullptr, "",
     "use a remote KMS (URL or region id) instead of the local store"},
    {"signature-version", kText, &C::signature_version, nullptr, "1|3",
     "remote KMS request signature: 1 (HMAC-SHA1, default) or 3 (ACS3-HMAC-SHA256)"},
    {"credentials-file", kPath, &C::credentials_file, nullptr, "",
     "remote KMS AccessKey JSON file (default: the ALIBABA_CLOUD_ACCESS_KEY_* variables)"},
    {"kms-instance-endpoint", kText, &C::kms_instance_endpoint, nullptr, "",
     "use a KMS 3.0 instance gateway (https://<instance>.cryptoservice.kms.aliyuncs.com)"},
    {"client-key-file", kPath, &C::client_key_file, nullptr, "", "instance ClientKey JSON file"},
    {"client-key-password-file", kPath, &C::client_key_password_file, nullptr, "",
     "file holding the ClientKey password"},
    {"ca-file", kPath, &C::ca_file, nullptr, "",
     "CA certificate (PEM) of the remote KMS or the instance gateway"},
    {"branch-key-store", kPath, &C::branch_key_store, nullptr, "",
     "wrap data keys under branch keys in this store (file:<dir> or postgresql:<conninfo>)"},
    {"branch-tenant-field", kText, &C::branch_tenant_field, nullptr, "",
     "encryption context field naming the tenant's branch key (default: the key id)"},
    {"branch-tenant-prefix", kText, &C::branch_tenant_prefix, nullptr, "",
     "prefix of the tenant's branch key id"},
    {"branch-cache-ttl-ms", kNumber, nullptr, &C::branch_cache_ttl_ms, "",
     "how long an unwrapped branch key stays cached (ms, default 300000)"},
    {"cache-max-age-ms", kNumber, nullptr, &C::cache_max_age_ms, "",
     "cache data keys for at most this long (ms)"},
    {"cache-max-messages", kNumber, nullptr, &C::cache_max_messages, "",
     "cache data keys for at most this many messages each"},
    {"cache-max-bytes", kNumber, nullptr, &C::cache_max_bytes, "",
     "cache data keys for at most this many bytes each"},
    {"cache-capacity", kNumber, nullptr, &C::cache_capacity, "",
     "cache at most this many data keys (per side)"},
};

absl::Status Invalid(std::string_view name, std::string_view why) {
  return KmsError(kms_code::kInvalidParameter,
                  absl::StrCat("provider option ", Av(name), ": ", Av(why)));
}

absl::StatusOr<uint64_t> ParseNumber(std::string_view name, std::string_view value) {
  uint64_t n = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return Invalid(name, "must be an unsigned decimal number");
    n = n * 10 + static_cast<uint64_t>(c - '0');
    if (n > kMaxNumber) return Invalid(name, "is too large");
  }
  return n;
}

const ProviderOption* FindOption(std::string_view name) {
  for (const ProviderOption& option : kOptions) {
    if (option.name == name) return &option;
  }
  return nullptr;
}

std::string KnownNames() {
  std::string names;
  for (const ProviderOption& option : kOptions) {
    absl::StrAppend(&names, names.empty() ? "" : ", ", Av(option.name));
  }
  return names;
}

absl::Status Store(const ProviderOption& option, std::string_view value, ProviderConfig* config) {
  if (value.find('\0') != std::string_view::npos) return Invalid(option.name, "contains NUL");
  if (!option.choices.empty()) {
    bool allowed = false;
    for (std::string_view rest = option.choices; !rest.empty();) {
      const size_t bar = std::min(rest.find('|'), rest.size());
      allowed = allowed || rest.substr(0, bar) == value;
      rest.remove_prefix(std::min(bar + 1, rest.size()));
    }
    if (!allowed) return Invalid(option.name, absl::StrCat("must be one of ", Av(option.choices)));
  }
  if (option.number != nullptr) {
    KMS_ASSIGN_OR_RETURN(config->*option.number, ParseNumber(option.name, value));
  } else {
    config->*option.text = std::string(value);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Span<const ProviderOption> ProviderOptions() { return kOptions; }

std::string EnvironmentName(std::string_view option_name) {
  std::string name = absl::StrCat(Av(kEnvironmentPrefix), Av(option_name));
  for (char& c : name) c = c == '-' ? '_' : absl::ascii_toupper(static_cast<unsigned char>(c));
  return name;
}

std::string DefaultHome() {
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr && *home != '\0' ? home : ".") + "/.kms-envelope";
}

absl::Status SetOption(std::string_view name, std::string_view value, ProviderConfig* config) {
  const ProviderOption* option = FindOption(name);
  if (option == nullptr) {
    return KmsError(kms_code::kInvalidParameter,
                    absl::StrCat("unknown provider option '", Av(name), "' (known: ", KnownNames(),
                                 ")"));
  }
  if (value.empty()) return Invalid(name, "empty value");
  if (config->set_options.count(name) != 0) return Invalid(name, "given twice");
  KMS_RETURN_IF_ERROR(Store(*option, value, config));
  config->set_options.emplace(name);
  return absl::OkStatus();
}

absl::Status ApplyEnvironment(const char* const* environment, ProviderConfig* config) {
  if (environment == nullptr) return absl::OkStatus();
  for (const char* const* entry = environment; *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    if (text.substr(0, kEnvironmentPrefix.size()) != kEnvironmentPrefix) continue;
    const size_t eq = text.find('=');
    const std::string_view variable = text.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? "" : text.substr(eq + 1);
    bool other = false;
    for (std::string_view name : kOtherEnvironmentVariables) other = other || name == variable;
    if (other) continue;
    const ProviderOption* match = nullptr;
    for (const ProviderOption& option : kOptions) {
      if (EnvironmentName(option.name) == variable) match = &option;
    }
    if (match == nullptr) {
      return KmsError(kms_code::kInvalidParameter,
                      absl::StrCat("unknown environment variable ", Av(variable),
                                   " (provider options are KMS_ENVELOPE_ + the upper-case option "
                                   "name: ",
                                   KnownNames(), ")"));
    }
    // An empty variable is an unset one (as for HOME); a flag or pair given for the same
    // option takes precedence over the environment.
    if (value.empty() || config->set_options.count(match->name) != 0) continue;
    absl::Status status = SetOption(match->name, value, config);
    if (!status.ok()) {
      return KmsError(kms_code::kInvalidParameter,
                      absl::StrCat(Av(variable), ": ", status.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace config
}  // namespace kms_envelope
