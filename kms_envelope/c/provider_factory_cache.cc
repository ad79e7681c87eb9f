// The data-key cache behind kmse_caching_provider_new: a CachingKeyProvider over another
// handle's provider, keeping that handle alive for as long as the cache lives.
#include <memory>
#include <utility>

#include "kms_envelope/c/provider_factory.h"
#include "kms_envelope/cache/caching_key_provider.h"

namespace kms_envelope {
namespace c_api {
namespace {

class CachingHandle : public ProviderHandle {
 public:
  CachingHandle(std::shared_ptr<ProviderHandle> inner,
                std::unique_ptr<cache::CachingKeyProvider> cache)
      : inner_(std::move(inner)), cache_(std::move(cache)) {}

  KeyProvider& provider() override { return *cache_; }

 private:
  std::shared_ptr<ProviderHandle> inner_;  // declared first: destroyed after the cache
  std::unique_ptr<cache::CachingKeyProvider> cache_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<ProviderHandle>> OpenCachingProvider(
    std::shared_ptr<ProviderHandle> inner, const CacheSettings& settings) {
  cache::CachingKeyProvider::Options options;
  options.limits.max_age = settings.max_age;
  options.limits.decrypt_max_age = settings.max_age;
  options.limits.max_messages = settings.max_messages;
  options.limits.max_bytes = settings.max_bytes;
  if (settings.capacity != 0) options.limits.capacity = settings.capacity;
  absl::StatusOr<std::unique_ptr<cache::CachingKeyProvider>> cache =
      cache::CachingKeyProvider::NewBorrowing(&inner->provider(), options);
  if (!cache.ok()) return cache.status();
  return std::shared_ptr<ProviderHandle>(
      std::make_shared<CachingHandle>(std::move(inner), std::move(cache).value()));
}

}  // namespace c_api
}  // namespace kms_envelope
