// One description of which KeyProvider to build, shared by every front end: the CLI's global
// flags, the KMS_ENVELOPE_* environment variables, the C API's name/value pairs (and through
// it the Python binding) and the RocksDB rewrap tool.
//
//   ProviderConfig config;
//   KMS_RETURN_IF_ERROR(SetOption("cache-max-messages", "100", &config));   // --cache-max-...
//   KMS_RETURN_IF_ERROR(ApplyEnvironment(environ, &config));     // KMS_ENVELOPE_KMS_ENDPOINT=...
//   KMS_ASSIGN_OR_RETURN(ConfiguredProvider kms, OpenConfiguredProvider(config));
//
// Every option has one name in kProviderOptions: the CLI flag is "--" + name, the C API key is
// the name, the environment variable is EnvironmentName(name) ("kms-endpoint" ->
// KMS_ENVELOPE_KMS_ENDPOINT). An unknown name, a malformed value, an empty value from a flag
// or the C API, an option given twice, and an unknown KMS_ENVELOPE_* variable are all
// InvalidParameter naming the option: nothing is silently dropped. Which options combine is
// checked when the provider is built (provider_factory.h).
//
// The base provider is the KMS 3.0 instance gateway when kms-instance-endpoint is set, else the
// remote KMS when kms-endpoint is set, else the local CMK store in `home`. Branch keys
// (branch-key-store) wrap data keys under per-tenant keys on top of it, and a data-key cache
// (any cache-* option) sits on top of everything.
#ifndef KMS_ENVELOPE_CONFIG_PROVIDER_CONFIG_H_
#define KMS_ENVELOPE_CONFIG_PROVIDER_CONFIG_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "kms_envelope/remote/credentials.h"

namespace kms_envelope {
namespace config {

struct ProviderConfig {
  // Local CMK store: its directory ("" = DefaultHome()), root key file ("" = <home>/root.key)
  // or a file holding a passphrase the root key is derived from (Argon2id).
  std::string home;
  std::string root_key_file;
  std::string passphrase_file;
  // Remote KMS (Alibaba Cloud KMS RPC API or `kms-envelope serve`): a URL or region id; the
  // signature version ("1" or "3"; "" = the default, 1); AccessKey credentials from a JSON file,
  // else `credentials`, else ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET / _SECURITY_TOKEN.
  std::string kms_endpoint;
  std::string signature_version;
  std::string credentials_file;
  // KMS 3.0 instance gateway: its URL, the ClientKey JSON file and its password file.
  std::string kms_instance_endpoint;
  std::string client_key_file;
  std::string client_key_password_file;
  // CA bundle (PEM) for the remote KMS or the instance gateway; "" = the system store.
  std::string ca_file;
  // Branch keys over the provider above: the store ("file:<dir>" / "postgresql:<conninfo>"),
  // the context field naming the tenant ("" = the request's KeyId names the branch key) and a
  // prefix for it, and how long an unwrapped branch key is cached (unset = 5 minutes).
  std::string branch_key_store;
  std::string branch_tenant_field;
  std::string branch_tenant_prefix;
  std::optional<uint64_t> branch_cache_ttl_ms;
  // Data-key cache over everything else, on when any of these is set (unset = CacheLimits'
  // default); the unwrapped-key side lives as long as the data-key side.
  std::optional<uint64_t> cache_max_age_ms;
  std::optional<uint64_t> cache_max_messages;
  std::optional<uint64_t> cache_max_bytes;
  std::optional<uint64_t> cache_capacity;

  // Not an option (a secret never travels on a command line or in an option list): explicit
  // remote credentials from an embedder (kmse_remote_provider_open).
  std::shared_ptr<const remote::Credentials> credentials;

  // The option names set through SetOption / ApplyEnvironment (a second setting is refused).
  std::set<std::string, std::less<>> set_options;
};

enum class OptionKind { kText, kPath, kNumber };

// One row of the option table: the name every front end uses, where the value goes (`text` or
// `number`), the values accepted ("1|3"; "" = any) and the help line.
struct ProviderOption {
  std::string_view name;  // CLI flag "--name", C API key "name", env EnvironmentName(name)
  OptionKind kind;
  std::string ProviderConfig::*text;
  std::optional<uint64_t> ProviderConfig::*number;
  std::string_view choices;
  std::string_view help;
};

// Every option, in the order the CLI's --help lists them.
absl::Span<const ProviderOption> ProviderOptions();

// "kms-endpoint" -> "KMS_ENVELOPE_KMS_ENDPOINT".
std::string EnvironmentName(std::string_view option_name);

// The local store directory when `home` is empty: $HOME/.kms-envelope (./.kms-envelope
// without HOME).
std::string DefaultHome();

// Sets option `name` to `value` (text as is, numbers as unsigned decimal). InvalidParameter
// for an unknown name, an empty or malformed value, or an option already set.
[[nodiscard]] absl::Status SetOption(std::string_view name, std::string_view value,
                                     ProviderConfig* config);

// Sets every option whose KMS_ENVELOPE_* variable is present and non-empty in `environment`
// (a NULL-terminated "NAME=value" array such as `environ`) and that SetOption has not set
// already: flags and C API pairs, applied first, take precedence. Variables of the same prefix that
// configure something else (kOtherEnvironmentVariables) are skipped; any other unknown
// KMS_ENVELOPE_* name is InvalidParameter.
[[nodiscard]] absl::Status ApplyEnvironment(const char* const* environment,
                                            ProviderConfig* config);

// KMS_ENVELOPE_* variables that are not provider options: the AES-GCM backend override, the
// Python binding's library path and CLI path for its tests, and the rewrap command's
// fault-injection point for its resume test (docs/cli.md).
inline constexpr std::string_view kOtherEnvironmentVariables[] = {
    "KMS_ENVELOPE_AEAD_BACKEND", "KMS_ENVELOPE_LIBRARY", "KMS_ENVELOPE_CLI",
    "KMS_ENVELOPE_TEST_STOP_AFTER_REWRAPS"};

}  // namespace config
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_CONFIG_PROVIDER_CONFIG_H_
