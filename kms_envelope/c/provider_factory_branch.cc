// The branch key provider behind kmse_branch_provider_open.
#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "kms_envelope/branch/branch_key_provider.h"
#include "kms_envelope/branch/branch_key_store_spec.h"
#include "kms_envelope/c/provider_factory.h"

namespace kms_envelope {
namespace c_api {
namespace {

class BranchHandle : public ProviderHandle {
 public:
  BranchHandle(std::shared_ptr<ProviderHandle> kms, std::unique_ptr<branch::BranchKeyProvider> p)
      : kms_(std::move(kms)), provider_(std::move(p)) {}
  KeyProvider& provider() override { return *provider_; }

 private:
  std::shared_ptr<ProviderHandle> kms_;
  std::unique_ptr<branch::BranchKeyProvider> provider_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<ProviderHandle>> OpenBranchProvider(
    std::shared_ptr<ProviderHandle> kms, std::string_view spec, const std::string& tenant_field,
    const std::string& tenant_prefix, uint32_t cache_ttl_ms) {
  branch::BranchKeyProviderOptions options;
  options.kms = std::shared_ptr<KeyProvider>(kms, &kms->provider());  // shares kms's lifetime
  absl::StatusOr<std::shared_ptr<branch::BranchKeyStore>> store = branch::OpenBranchKeyStore(spec);
  if (!store.ok()) return store.status();
  options.store = std::move(*store);
  if (!tenant_field.empty()) {
    auto supplier = branch::ContextFieldSupplier::New(tenant_field, tenant_prefix);
    if (!supplier.ok()) return supplier.status();
    options.supplier = std::move(*supplier);
  } else if (!tenant_prefix.empty()) {
    return KmsError(kms_code::kInvalidParameter, "a tenant prefix needs a tenant field");
  }
  if (cache_ttl_ms != 0) options.cache.ttl = std::chrono::milliseconds(cache_ttl_ms);
  auto provider = branch::BranchKeyProvider::New(std::move(options));
  if (!provider.ok()) return provider.status();
  return std::shared_ptr<ProviderHandle>(
      std::make_shared<BranchHandle>(std::move(kms), std::move(*provider)));
}

}  // namespace c_api
}  // namespace kms_envelope
