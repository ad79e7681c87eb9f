// The remote provider behind kmse_remote_provider_open: RemoteKeyProvider (Alibaba Cloud KMS RPC
// API, or `kms-envelope serve`) with the default retry policy.
#include <memory>
#include <string>
#include <utility>

#include "kms_envelope/c/provider_factory.h"
#include "kms_envelope/remote/credentials.h"
#include "kms_envelope/remote/remote_key_provider.h"

namespace kms_envelope {
namespace c_api {
namespace {

class RemoteHandle : public ProviderHandle {
 public:
  explicit RemoteHandle(std::unique_ptr<remote::RemoteKeyProvider> provider)
      : provider_(std::move(provider)) {}
  KeyProvider& provider() override { return *provider_; }

 private:
  std::unique_ptr<remote::RemoteKeyProvider> provider_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<ProviderHandle>> OpenRemoteProvider(
    const std::string& endpoint, const std::string& access_key_id,
    const std::string& access_key_secret, bool from_environment) {
  absl::StatusOr<remote::Credentials> credentials =
      from_environment ? remote::Credentials::FromEnvironment()
                       : remote::Credentials::New(access_key_id, access_key_secret);
  if (!credentials.ok()) return credentials.status();
  remote::RemoteKeyProviderOptions options;
  options.endpoint = remote::ResolveEndpoint(endpoint);
  absl::StatusOr<std::unique_ptr<remote::RemoteKeyProvider>> provider =
      remote::RemoteKeyProvider::New(std::move(options), std::move(credentials).value());
  if (!provider.ok()) return provider.status();
  return std::shared_ptr<ProviderHandle>(std::make_shared<RemoteHandle>(std::move(provider).value()));
}

}  // namespace c_api
}  // namespace kms_envelope
