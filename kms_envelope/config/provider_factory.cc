#include "kms_envelope/config/provider_factory.h"

#include <chrono>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "kms_envelope/branch/branch_key_provider.h"
#include "kms_envelope/branch/branch_key_store_spec.h"
#include "kms_envelope/cache/caching_key_provider.h"
#include "kms_envelope/instance/client_key.h"
#include "kms_envelope/instance/instance_key_provider.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/local/local_key_provider.h"
#include "kms_envelope/remote/remote_key_provider.h"
#include "kms_envelope/status_macros.h"
#include "sodium.h"

namespace kms_envelope {
namespace config {
namespace {

using internal::Av;

// Options that belong to one kind of base provider, or to one layer.
constexpr std::string_view kLocalOptions[] = {"root-key-file",
                                                                   "passphrase-file"};
constexpr std::string_view kRemoteOptions[] = {"signature-version",
                                                                    "credentials-file"};
constexpr std::string_view kInstanceOptions[] = {
    "client-key-file", "client-key-password-file"};
constexpr std::string_view kBranchOptions[] = {
    "branch-key-store", "branch-tenant-field", "branch-tenant-prefix", "branch-cache-ttl-ms"};
constexpr std::string_view kCacheOptions[] = {
    "cache-max-age-ms", "cache-max-messages", "cache-max-bytes", "cache-capacity"};

bool IsSet(const ProviderConfig& c, std::string_view name) {
  for (const ProviderOption& o : ProviderOptions()) {
    if (o.name != name) continue;
    return o.number != nullptr ? (c.*o.number).has_value() : !(c.*o.text).empty();
  }
  return false;
}

absl::Status RefuseAny(const ProviderConfig& c, absl::Span<const std::string_view> names,
                       std::string_view where) {
  for (std::string_view name : names) {
    if (IsSet(c, name)) {
      return KmsError(kms_code::kInvalidParameter,
                      absl::StrCat("provider option ", Av(name), " does not apply to ", Av(where)));
    }
  }
  return absl::OkStatus();
}

enum class Base { kLocal, kRemote, kInstance };

Base BaseOf(const ProviderConfig& c) {
  if (!c.kms_instance_endpoint.empty()) return Base::kInstance;
  if (!c.kms_endpoint.empty()) return Base::kRemote;
  return Base::kLocal;
}

// Every option set must be used by the provider the config builds.
absl::Status CheckCombination(const ProviderConfig& c) {
  switch (BaseOf(c)) {
    case Base::kInstance:
      KMS_RETURN_IF_ERROR(RefuseAny(c, kLocalOptions, "a KMS instance gateway"));
      KMS_RETURN_IF_ERROR(RefuseAny(c, kRemoteOptions, "a KMS instance gateway"));
      KMS_RETURN_IF_ERROR(RefuseAny(c, {"kms-endpoint"}, "a KMS instance gateway"));
      if (c.credentials != nullptr) {
        return KmsError(kms_code::kInvalidParameter,
                        "AccessKey credentials do not apply to a KMS instance gateway");
      }
      if (c.client_key_file.empty() || c.client_key_password_file.empty()) {
        return KmsError(kms_code::kMissingParameter,
                        "kms-instance-endpoint needs client-key-file and client-key-password-file");
      }
      break;
    case Base::kRemote:
      KMS_RETURN_IF_ERROR(RefuseAny(c, kLocalOptions, "a remote KMS"));
      KMS_RETURN_IF_ERROR(RefuseAny(c, kInstanceOptions, "a remote KMS"));
      if (c.credentials != nullptr && !c.credentials_file.empty()) {
        return KmsError(kms_code::kInvalidParameter,
                        "give AccessKey credentials or credentials-file, not both");
      }
      break;
    case Base::kLocal:
      KMS_RETURN_IF_ERROR(RefuseAny(c, kRemoteOptions, "the local key store"));
      KMS_RETURN_IF_ERROR(RefuseAny(c, kInstanceOptions,
                                    "the local key store (kms-instance-endpoint is not set)"));
      KMS_RETURN_IF_ERROR(RefuseAny(c, {"ca-file"}, "the local key store"));
      if (c.credentials != nullptr) {
        return KmsError(kms_code::kInvalidParameter,
                        "AccessKey credentials need a remote KMS (kms-endpoint)");
      }
      if (!c.passphrase_file.empty() && !c.root_key_file.empty()) {
        return KmsError(kms_code::kInvalidParameter,
                        "give passphrase-file or root-key-file, not both");
      }
      break;
  }
  if (c.branch_key_store.empty()) {
    KMS_RETURN_IF_ERROR(RefuseAny(c, kBranchOptions, "a provider without branch-key-store"));
  }
  if (c.branch_tenant_field.empty() && !c.branch_tenant_prefix.empty()) {
    return KmsError(kms_code::kInvalidParameter, "branch-tenant-prefix needs branch-tenant-field");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadPassphraseFile(const std::string& path) {
  absl::StatusOr<std::string> read = instance::ReadBoundedFile(path, kMaxPassphraseFileSize);
  if (!read.ok()) {
    return KmsError(kms_code::kInvalidParameter,
                    absl::StrCat("passphrase file: ", read.status().message()));
  }
  std::string passphrase = *std::move(read);
  size_t size = passphrase.size();
  if (size > 0 && passphrase[size - 1] == '\n') --size;
  if (size > 0 && passphrase[size - 1] == '\r') --size;
  sodium_memzero(passphrase.data() + size, passphrase.size() - size);
  if (size == 0) return KmsError(kms_code::kInvalidParameter, "passphrase file is empty");
  passphrase.resize(size);  // shrinking never reallocates
  return passphrase;
}

absl::StatusOr<std::shared_ptr<local::LocalKeyStore>> OpenStore(const ProviderConfig& c) {
  local::LocalKeyStoreOptions options;
  options.directory = ResolveHome(c);
  options.root_key_file = c.root_key_file;
  if (!c.passphrase_file.empty()) {
    KMS_ASSIGN_OR_RETURN(options.passphrase, ReadPassphraseFile(c.passphrase_file));
  }
  absl::StatusOr<std::unique_ptr<local::LocalKeyStore>> store = local::LocalKeyStore::Open(options);
  sodium_memzero(options.passphrase.data(), options.passphrase.size());
  if (!store.ok()) return store.status();
  return std::shared_ptr<local::LocalKeyStore>(*std::move(store));
}

absl::StatusOr<remote::Credentials> RemoteCredentials(const ProviderConfig& c) {
  if (c.credentials != nullptr) return c.credentials->Clone();
  if (!c.credentials_file.empty()) return remote::Credentials::FromFile(c.credentials_file);
  return remote::Credentials::FromEnvironment();
}

absl::StatusOr<std::shared_ptr<KeyProvider>> OpenRemote(const ProviderConfig& c) {
  KMS_ASSIGN_OR_RETURN(remote::Credentials credentials, RemoteCredentials(c));
  remote::RemoteKeyProviderOptions options;
  options.endpoint = remote::ResolveEndpoint(c.kms_endpoint);
  options.ca_file = c.ca_file;
  if (c.signature_version == "3") options.signature_version = remote::SignatureVersion::kV3;
  KMS_ASSIGN_OR_RETURN(std::unique_ptr<remote::RemoteKeyProvider> provider,
                       remote::RemoteKeyProvider::New(std::move(options), std::move(credentials)));
  return std::shared_ptr<KeyProvider>(std::move(provider));
}

absl::StatusOr<std::shared_ptr<KeyProvider>> OpenInstance(const ProviderConfig& c) {
  KMS_ASSIGN_OR_RETURN(instance::ClientKey key,
                       instance::ClientKey::FromFiles(c.client_key_file,
                                                      c.client_key_password_file));
  instance::InstanceKeyProviderOptions options;
  options.endpoint = c.kms_instance_endpoint;
  options.ca_file = c.ca_file;
  KMS_ASSIGN_OR_RETURN(std::unique_ptr<instance::InstanceKeyProvider> provider,
                       instance::InstanceKeyProvider::New(std::move(options), std::move(key)));
  return std::shared_ptr<KeyProvider>(std::move(provider));
}

absl::StatusOr<ConfiguredProvider> OpenBase(const ProviderConfig& c) {
  ConfiguredProvider out;
  switch (BaseOf(c)) {
    case Base::kInstance: {
      KMS_ASSIGN_OR_RETURN(out.provider, OpenInstance(c));
      return out;
    }
    case Base::kRemote: {
      KMS_ASSIGN_OR_RETURN(out.provider, OpenRemote(c));
      return out;
    }
    case Base::kLocal:
      break;
  }
  KMS_ASSIGN_OR_RETURN(out.local_store, OpenStore(c));
  KMS_ASSIGN_OR_RETURN(std::unique_ptr<local::LocalKeyProvider> provider,
                       local::LocalKeyProvider::New(out.local_store));
  out.provider = std::move(provider);
  return out;
}

bool AnySet(const ProviderConfig& c, absl::Span<const std::string_view> names) {
  for (std::string_view name : names) {
    if (IsSet(c, name)) return true;
  }
  return false;
}

}  // namespace

std::string ResolveHome(const ProviderConfig& config) {
  return config.home.empty() ? DefaultHome() : config.home;
}

absl::StatusOr<std::shared_ptr<KeyProvider>> WithBranchKeys(std::shared_ptr<KeyProvider> kms,
                                                            const ProviderConfig& c) {
  if (kms == nullptr) return KmsError(kms_code::kInvalidParameter, "branch keys need a KMS");
  branch::BranchKeyProviderOptions options;
  options.kms = std::move(kms);
  KMS_ASSIGN_OR_RETURN(options.store, branch::OpenBranchKeyStore(c.branch_key_store));
  if (!c.branch_tenant_field.empty()) {
    KMS_ASSIGN_OR_RETURN(options.supplier, branch::ContextFieldSupplier::New(
                                               c.branch_tenant_field, c.branch_tenant_prefix));
  } else if (!c.branch_tenant_prefix.empty()) {
    return KmsError(kms_code::kInvalidParameter, "branch-tenant-prefix needs branch-tenant-field");
  }
  if (c.branch_cache_ttl_ms.has_value()) {
    options.cache.ttl = std::chrono::milliseconds(*c.branch_cache_ttl_ms);
  }
  KMS_ASSIGN_OR_RETURN(std::unique_ptr<branch::BranchKeyProvider> provider,
                       branch::BranchKeyProvider::New(std::move(options)));
  return std::shared_ptr<KeyProvider>(std::move(provider));
}

absl::StatusOr<std::shared_ptr<KeyProvider>> WithCache(std::shared_ptr<KeyProvider> inner,
                                                       const ProviderConfig& c) {
  if (inner == nullptr) return KmsError(kms_code::kInvalidParameter, "a cache needs a provider");
  cache::CachingKeyProvider::Options options;
  if (c.cache_max_age_ms.has_value()) {
    if (*c.cache_max_age_ms > (uint64_t{1} << 40)) {
      return KmsError(kms_code::kInvalidParameter, "cache-max-age-ms is too large");
    }
    options.limits.max_age = std::chrono::milliseconds(*c.cache_max_age_ms);
    options.limits.decrypt_max_age = options.limits.max_age;
  }
  if (c.cache_max_messages.has_value()) options.limits.max_messages = *c.cache_max_messages;
  if (c.cache_max_bytes.has_value()) options.limits.max_bytes = *c.cache_max_bytes;
  if (c.cache_capacity.has_value()) options.limits.capacity = *c.cache_capacity;
  KMS_ASSIGN_OR_RETURN(std::unique_ptr<cache::CachingKeyProvider> cached,
                       cache::CachingKeyProvider::NewBorrowing(inner.get(), options));
  // The deleter holds `inner`, so the cached provider outlives the cache.
  return std::shared_ptr<KeyProvider>(cached.release(),
                                      [inner](KeyProvider* p) { delete p; });
}

absl::StatusOr<ConfiguredProvider> OpenConfiguredProvider(const ProviderConfig& config) {
  KMS_RETURN_IF_ERROR(CheckCombination(config));
  KMS_ASSIGN_OR_RETURN(ConfiguredProvider out, OpenBase(config));
  if (!config.branch_key_store.empty()) {
    KMS_ASSIGN_OR_RETURN(out.provider, WithBranchKeys(std::move(out.provider), config));
  }
  if (AnySet(config, kCacheOptions)) {
    KMS_ASSIGN_OR_RETURN(out.provider, WithCache(std::move(out.provider), config));
  }
  return out;
}

absl::StatusOr<ConfiguredProvider> OpenBaseProvider(const ProviderConfig& config) {
  KMS_RETURN_IF_ERROR(CheckCombination(config));
  KMS_RETURN_IF_ERROR(RefuseAny(config, kBranchOptions, "the KMS that wraps branch keys"));
  KMS_RETURN_IF_ERROR(RefuseAny(config, kCacheOptions, "the KMS that wraps branch keys"));
  return OpenBase(config);
}

absl::StatusOr<std::shared_ptr<local::LocalKeyStore>> OpenLocalStore(
    const ProviderConfig& config) {
  if (BaseOf(config) != Base::kLocal) {
    return KmsError(kms_code::kInvalidParameter,
                    "key administration works on the local store only; drop kms-endpoint / "
                    "kms-instance-endpoint");
  }
  KMS_RETURN_IF_ERROR(CheckCombination(config));
  KMS_RETURN_IF_ERROR(RefuseAny(config, kBranchOptions, "local key administration"));
  KMS_RETURN_IF_ERROR(RefuseAny(config, kCacheOptions, "local key administration"));
  return OpenStore(config);
}

}  // namespace config
}  // namespace kms_envelope
