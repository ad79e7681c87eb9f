// Internal (C++) side of the C API: what a kmse_provider handle holds, and the factories for the
// concrete providers. Not part of the C ABI; C callers only see kms_envelope.h.
#ifndef KMS_ENVELOPE_C_PROVIDER_FACTORY_H_
#define KMS_ENVELOPE_C_PROVIDER_FACTORY_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kms_envelope/key_provider.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace c_api {

// A provider plus whatever keeps it alive (a local store, an HTTP client), and the store
// administration the C API exposes for local stores.
class ProviderHandle {
 public:
  virtual ~ProviderHandle() = default;
  virtual KeyProvider& provider() = 0;
  [[nodiscard]] virtual absl::StatusOr<std::string> CreateKey(std::string_view description) {
    return KmsError(kms_code::kUnsupportedOperation, "only a local provider can create keys");
  }
  [[nodiscard]] virtual absl::StatusOr<std::string> RotateKey(std::string_view key_id) {
    return KmsError(kms_code::kUnsupportedOperation, "only a local provider can rotate keys");
  }
  [[nodiscard]] virtual absl::Status CreateAlias(std::string_view alias, std::string_view key_id) {
    return KmsError(kms_code::kUnsupportedOperation, "only a local provider can create aliases");
  }
};

// The local CMK store in `dir`; `root_key_file` "" = the store's default.
[[nodiscard]] absl::StatusOr<std::shared_ptr<ProviderHandle>> OpenLocalProvider(
    const std::string& dir, const std::string& root_key_file);

// The remote KMS; credentials from the environment when `from_environment`.
[[nodiscard]] absl::StatusOr<std::shared_ptr<ProviderHandle>> OpenRemoteProvider(
    const std::string& endpoint, const std::string& access_key_id,
    const std::string& access_key_secret, bool from_environment);

// A branch key provider (docs/branch-keys.md) over `kms` (kept alive) and the store `spec`
// names ("file:<dir>" / "postgresql:<conninfo>"); `tenant_field` "" = KeyId names the branch key.
[[nodiscard]] absl::StatusOr<std::shared_ptr<ProviderHandle>> OpenBranchProvider(
    std::shared_ptr<ProviderHandle> kms, std::string_view spec, const std::string& tenant_field,
    const std::string& tenant_prefix, uint32_t cache_ttl_ms);
// A data-key cache in front of `inner` (which it keeps alive). Limits as CacheLimits; the
// decrypt side lives as long as the encrypt side (max_age); capacity 0 = the default.
struct CacheSettings {
  std::chrono::nanoseconds max_age{0};
  uint64_t max_messages = 0;
  uint64_t max_bytes = 0;
  size_t capacity = 0;
};
[[nodiscard]] absl::StatusOr<std::shared_ptr<ProviderHandle>> OpenCachingProvider(
    std::shared_ptr<ProviderHandle> inner, const CacheSettings& settings);

// A KMS 3.0 instance gateway with the ClientKey in `client_key_file` / `password_file`.
[[nodiscard]] absl::StatusOr<std::shared_ptr<ProviderHandle>> OpenInstanceProvider(
    const std::string& endpoint, const std::string& client_key_file,
    const std::string& password_file, const std::string& ca_file);

}  // namespace c_api
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_C_PROVIDER_FACTORY_H_
