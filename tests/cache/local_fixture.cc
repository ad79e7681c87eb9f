#include "tests/cache/local_fixture.h"

#include <stdlib.h>

#include <cstdio>
#include <string>

#include "kms_envelope/local/local_key_provider.h"
#include "kms_envelope/local/local_key_store.h"

namespace kms_envelope {
namespace cache_testing {
namespace {

class RealLocalFixture : public LocalFixture {
 public:
  RealLocalFixture(std::shared_ptr<KeyProvider> provider, std::string a, std::string b,
                   std::string b_guid)
      : provider_(std::move(provider)), a_(std::move(a)), b_(std::move(b)), b_guid_(std::move(b_guid)) {}
  KeyProvider* provider() override { return provider_.get(); }
  std::shared_ptr<KeyProvider> shared() override { return provider_; }
  const std::string& key_a() const override { return a_; }
  const std::string& key_b() const override { return b_; }
  const std::string& key_b_guid() const override { return b_guid_; }

 private:
  std::shared_ptr<KeyProvider> provider_;
  std::string a_, b_, b_guid_;
};

}  // namespace

std::unique_ptr<LocalFixture> NewLocalFixture() {
  const char* base = std::getenv("TEST_TMPDIR");
  if (base == nullptr) base = std::getenv("TMPDIR");
  std::string dir = std::string(base != nullptr ? base : "/tmp") + "/kms_cache_store_XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) {
    std::fprintf(stderr, "local fixture: mkdtemp failed\n");
    return nullptr;
  }
  local::LocalKeyStoreOptions options;
  options.directory = dir;
  auto opened = local::LocalKeyStore::Open(options);
  if (!opened.ok()) {
    std::fprintf(stderr, "local fixture: %s\n", opened.status().ToString().c_str());
    return nullptr;
  }
  std::shared_ptr<local::LocalKeyStore> store(std::move(*opened));
  auto a = store->CreateKey("cache tests: CMK a");
  auto b = store->CreateKey("cache tests: CMK b");
  if (!a.ok() || !b.ok()) {
    std::fprintf(stderr, "local fixture: CreateKey failed\n");
    return nullptr;
  }
  if (!store->CreateAlias("alias/cache-b", b->key_id).ok()) {
    std::fprintf(stderr, "local fixture: CreateAlias failed\n");
    return nullptr;
  }
  auto provider = local::LocalKeyProvider::New(store);
  if (!provider.ok()) {
    std::fprintf(stderr, "local fixture: %s\n", provider.status().ToString().c_str());
    return nullptr;
  }
  return std::make_unique<RealLocalFixture>(std::shared_ptr<KeyProvider>(std::move(*provider)),
                                            a->key_id, "alias/cache-b", b->key_id);
}

}  // namespace cache_testing
}  // namespace kms_envelope
