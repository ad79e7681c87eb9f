// The instance provider behind kmse_instance_provider_open: InstanceKeyProvider (KMS 3.0
// instance gateway, or `kms-envelope serve --instance-api`) with the default retry policy.
#include <memory>
#include <string>
#include <utility>

#include "kms_envelope/c/provider_factory.h"
#include "kms_envelope/instance/client_key.h"
#include "kms_envelope/instance/instance_key_provider.h"

namespace kms_envelope {
namespace c_api {
namespace {

class InstanceHandle : public ProviderHandle {
 public:
  explicit InstanceHandle(std::unique_ptr<instance::InstanceKeyProvider> provider)
      : provider_(std::move(provider)) {}
  KeyProvider& provider() override { return *provider_; }

 private:
  std::unique_ptr<instance::InstanceKeyProvider> provider_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<ProviderHandle>> OpenInstanceProvider(
    const std::string& endpoint, const std::string& client_key_file,
    const std::string& password_file, const std::string& ca_file) {
  absl::StatusOr<instance::ClientKey> key =
      instance::ClientKey::FromFiles(client_key_file, password_file);
  if (!key.ok()) return key.status();
  instance::InstanceKeyProviderOptions options;
  options.endpoint = endpoint;
  options.ca_file = ca_file;
  absl::StatusOr<std::unique_ptr<instance::InstanceKeyProvider>> provider =
      instance::InstanceKeyProvider::New(std::move(options), std::move(key).value());
  if (!provider.ok()) return provider.status();
  return std::shared_ptr<ProviderHandle>(
      std::make_shared<InstanceHandle>(std::move(provider).value()));
}

}  // namespace c_api
}  // namespace kms_envelope
