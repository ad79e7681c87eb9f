// Provider handles of the C API: every way to open one goes through the shared provider
// configuration (config/provider_config.h), so a C caller reaches every option the CLI has.
// Also the local store administration, which needs the store behind a local provider.
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kms_envelope/c/c_api_internal.h"
#include "kms_envelope/c/kms_envelope.h"
#include "kms_envelope/config/provider_config.h"
#include "kms_envelope/config/provider_factory.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/remote/credentials.h"

extern char** environ;

namespace {

using namespace kms_envelope::c_api;  // the shared reporting helpers (c_api_internal.h)
using kms_envelope::config::ProviderConfig;
namespace config = kms_envelope::config;
namespace kms_code = kms_envelope::kms_code;

// Sets each (name, value) whose value is non-NULL: a NULL argument of the fixed-argument calls
// means "the default".
absl::Status SetAll(std::initializer_list<std::pair<const char*, const char*>> pairs,
                    ProviderConfig* c) {
  for (const auto& [name, value] : pairs) {
    if (value == nullptr) continue;
    absl::Status status = config::SetOption(name, value, c);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

kmse_status Open(const absl::StatusOr<config::ConfiguredProvider>& made, kmse_provider** out,
                 kmse_error* err) {
  if (!made.ok()) return Report(err, made.status());
  *out = new kmse_provider{made->provider, made->local_store};
  return Ok(err);
}

kmse_status OpenConfig(const absl::Status& set, const ProviderConfig& c, kmse_provider** out,
                       kmse_error* err) {
  if (!set.ok()) return Report(err, set);
  return Open(config::OpenConfiguredProvider(c), out, err);
}

// A layer (branch keys, cache) over `inner`: only the local store handle is not inherited, as
// key administration is for the local provider itself.
kmse_status Layer(const absl::StatusOr<std::shared_ptr<kms_envelope::KeyProvider>>& made,
                  kmse_provider** out, kmse_error* err) {
  if (!made.ok()) return Report(err, made.status());
  *out = new kmse_provider{*made, nullptr};
  return Ok(err);
}

absl::StatusOr<kms_envelope::local::LocalKeyStore*> LocalStore(kmse_provider* provider,
                                                                std::string_view what) {
  if (provider->local_store == nullptr) {
    return kms_envelope::KmsError(kms_code::kUnsupportedOperation,
                                  std::string("only a local provider can ") + std::string(what));
  }
  return provider->local_store.get();
}

// Copies an id returned by the store into the caller's buffer (size checked by the caller).
kmse_status ReturnId(const std::string& id, char* out, size_t cap, size_t* len, const char* what,
                     kmse_error* err) {
  if (out != nullptr && cap < id.size() + 1) return TooSmall(err, id.size() + 1, len, what);
  CopyTruncated(id, out, cap);
  if (len != nullptr) *len = id.size();
  return Ok(err);
}

}  // namespace

extern "C" {

kmse_status kmse_local_provider_open(const char* store_dir, const char* root_key_file,
                                     kmse_provider** out, kmse_error* err) {
  return Guard(err, [&] {
    if (store_dir == nullptr || out == nullptr) {
      return InvalidArgument(err, "store_dir and out are required");
    }
    *out = nullptr;
    ProviderConfig c;
    return OpenConfig(SetAll({{"home", store_dir}, {"root-key-file", root_key_file}}, &c), c, out,
                      err);
  });
}

kmse_status kmse_local_create_key(kmse_provider* provider, const char* description, char* key_id,
                                  size_t key_id_cap, size_t* key_id_len, kmse_error* err) {
  return Guard(err, [&] {
    if (provider == nullptr) return InvalidArgument(err, "provider is NULL");
    // Checked before the key exists: a size query must not create a key it cannot name.
    if (key_id == nullptr || key_id_cap < KMSE_LOCAL_ID_CAP) {
      return TooSmall(err, KMSE_LOCAL_ID_CAP, key_id_len, "key_id");
    }
    auto store = LocalStore(provider, "create keys");
    if (!store.ok()) return Report(err, store.status());
    auto key = (*store)->CreateKey(description != nullptr ? description : "");
    if (!key.ok()) return Report(err, key.status());
    return ReturnId(key->key_id, key_id, key_id_cap, key_id_len, "key_id", err);
  });
}

kmse_status kmse_local_rotate_key(kmse_provider* provider, const char* key_id, char* version_id,
                                  size_t version_id_cap, size_t* version_id_len,
                                  kmse_error* err) {
  return Guard(err, [&] {
    if (provider == nullptr || key_id == nullptr) {
      return InvalidArgument(err, "provider and key_id are required");
    }
    // Checked before rotating: a size query must not rotate.
    if (version_id != nullptr && version_id_cap < KMSE_LOCAL_ID_CAP) {
      return TooSmall(err, KMSE_LOCAL_ID_CAP, version_id_len, "version_id");
    }
    auto store = LocalStore(provider, "rotate keys");
    if (!store.ok()) return Report(err, store.status());
    absl::StatusOr<std::string> version = (*store)->RotateKey(key_id);
    if (!version.ok()) return Report(err, version.status());
    // A buffer too small now means the rotation happened and only the id could not be returned.
    return ReturnId(*version, version_id, version_id_cap, version_id_len, "version_id", err);
  });
}

kmse_status kmse_local_create_alias(kmse_provider* provider, const char* alias_name,
                                    const char* key_id, kmse_error* err) {
  return Guard(err, [&] {
    if (provider == nullptr || alias_name == nullptr || key_id == nullptr) {
      return InvalidArgument(err, "provider, alias_name and key_id are required");
    }
    auto store = LocalStore(provider, "create aliases");
    if (!store.ok()) return Report(err, store.status());
    return Report(err, (*store)->CreateAlias(alias_name, key_id));
  });
}

kmse_status kmse_remote_provider_open(const char* endpoint, const char* access_key_id,
                                      const char* access_key_secret, kmse_provider** out,
                                      kmse_error* err) {
  return Guard(err, [&] {
    if (endpoint == nullptr || out == nullptr) {
      return InvalidArgument(err, "endpoint and out are required");
    }
    if ((access_key_id == nullptr) != (access_key_secret == nullptr)) {
      return InvalidArgument(err, "give both access_key_id and access_key_secret, or neither");
    }
    *out = nullptr;
    ProviderConfig c;
    if (access_key_id != nullptr) {
      auto credentials = kms_envelope::remote::Credentials::New(access_key_id, access_key_secret);
      if (!credentials.ok()) return Report(err, credentials.status());
      c.credentials = std::make_shared<const kms_envelope::remote::Credentials>(
          std::move(credentials).value());
    }
    return OpenConfig(SetAll({{"kms-endpoint", endpoint}}, &c), c, out, err);
  });
}

kmse_status kmse_instance_provider_open(const char* endpoint, const char* client_key_file,
                                        const char* password_file, const char* ca_file,
                                        kmse_provider** out, kmse_error* err) {
  return Guard(err, [&] {
    if (endpoint == nullptr || client_key_file == nullptr || password_file == nullptr ||
        out == nullptr) {
      return InvalidArgument(err, "endpoint, client_key_file, password_file and out are required");
    }
    *out = nullptr;
    ProviderConfig c;
    return OpenConfig(SetAll({{"kms-instance-endpoint", endpoint},
                              {"client-key-file", client_key_file},
                              {"client-key-password-file", password_file},
                              {"ca-file", ca_file}},
                             &c),
                      c, out, err);
  });
}

kmse_status kmse_branch_provider_open(kmse_provider* kms, const char* store,
                                      const char* tenant_field, const char* tenant_prefix,
                                      uint32_t cache_ttl_ms, kmse_provider** out,
                                      kmse_error* err) {
  return Guard(err, [&] {
    if (kms == nullptr || store == nullptr || out == nullptr) {
      return InvalidArgument(err, "kms, store and out are required");
    }
    *out = nullptr;
    ProviderConfig c;
    absl::Status set = SetAll({{"branch-key-store", store},
                               {"branch-tenant-field", tenant_field},
                               {"branch-tenant-prefix", tenant_prefix}},
                              &c);
    if (!set.ok()) return Report(err, set);
    if (cache_ttl_ms != 0) c.branch_cache_ttl_ms = cache_ttl_ms;
    return Layer(config::WithBranchKeys(kms->provider, c), out, err);
  });
}

kmse_status kmse_caching_provider_new(kmse_provider* inner, uint64_t max_age_ms,
                                      uint64_t max_messages, uint64_t max_bytes,
                                      kmse_provider** out, kmse_error* err) {
  return Guard(err, [&] {
    if (inner == nullptr || out == nullptr) {
      return InvalidArgument(err, "inner and out are required");
    }
    *out = nullptr;
    ProviderConfig c;
    c.cache_max_age_ms = max_age_ms;
    c.cache_max_messages = max_messages;
    c.cache_max_bytes = max_bytes;
    return Layer(config::WithCache(inner->provider, c), out, err);
  });
}

void kmse_provider_free(kmse_provider* provider) {
  try {
    delete provider;
  } catch (...) {
  }
}

kmse_status kmse_provider_open_config(const char* const* names, const char* const* values,
                                      size_t count, int use_environment, kmse_provider** out,
                                      kmse_error* err) {
  return Guard(err, [&] {
    if (out == nullptr || (count != 0 && (names == nullptr || values == nullptr))) {
      return InvalidArgument(err, "out, and names and values when count > 0, are required");
    }
    *out = nullptr;
    ProviderConfig c;
    for (size_t i = 0; i < count; ++i) {
      if (names[i] == nullptr || values[i] == nullptr) {
        return InvalidArgument(err, "a provider option name or value is NULL");
      }
      absl::Status set = config::SetOption(names[i], values[i], &c);
      if (!set.ok()) return Report(err, set);
    }
    absl::Status env = use_environment != 0 ? config::ApplyEnvironment(environ, &c)
                                            : absl::OkStatus();
    return OpenConfig(env, c, out, err);
  });
}

const char* kmse_provider_option_name(size_t index) {
  const auto options = config::ProviderOptions();
  // The table's names are string literals: NUL-terminated, static storage.
  return index < options.size() ? options[index].name.data() : nullptr;
}

}  // extern "C"
