// The local provider behind kmse_local_provider_open: a LocalKeyStore + LocalKeyProvider, and
// the store administration the C API exposes.
#include <memory>
#include <string>
#include <utility>

#include "kms_envelope/c/provider_factory.h"
#include "kms_envelope/local/local_key_provider.h"
#include "kms_envelope/local/local_key_store.h"

namespace kms_envelope {
namespace c_api {
namespace {

class LocalHandle : public ProviderHandle {
 public:
  LocalHandle(std::shared_ptr<local::LocalKeyStore> store,
              std::unique_ptr<local::LocalKeyProvider> provider)
      : store_(std::move(store)), provider_(std::move(provider)) {}

  KeyProvider& provider() override { return *provider_; }

  absl::StatusOr<std::string> CreateKey(std::string_view description) override {
    absl::StatusOr<local::KeyMetadata> key = store_->CreateKey(description);
    if (!key.ok()) return key.status();
    return key->key_id;
  }
  absl::StatusOr<std::string> RotateKey(std::string_view key_id) override {
    return store_->RotateKey(key_id);
  }
  absl::Status CreateAlias(std::string_view alias, std::string_view key_id) override {
    return store_->CreateAlias(alias, key_id);
  }

 private:
  std::shared_ptr<local::LocalKeyStore> store_;
  std::unique_ptr<local::LocalKeyProvider> provider_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<ProviderHandle>> OpenLocalProvider(
    const std::string& dir, const std::string& root_key_file) {
  local::LocalKeyStoreOptions options;
  options.directory = dir;
  options.root_key_file = root_key_file;
  absl::StatusOr<std::unique_ptr<local::LocalKeyStore>> store = local::LocalKeyStore::Open(options);
  if (!store.ok()) return store.status();
  std::shared_ptr<local::LocalKeyStore> shared = std::move(store).value();
  absl::StatusOr<std::unique_ptr<local::LocalKeyProvider>> provider =
      local::LocalKeyProvider::New(shared);
  if (!provider.ok()) return provider.status();
  return std::shared_ptr<ProviderHandle>(
      std::make_shared<LocalHandle>(std::move(shared), std::move(provider).value()));
}

}  // namespace c_api
}  // namespace kms_envelope
