// Shared by the tests under tests/branch: a real local KMS (LocalKeyStore + LocalKeyProvider in
// a temporary directory) with one CMK, behind a call-counting wrapper, and small helpers.
#ifndef KMS_ENVELOPE_TESTS_BRANCH_BRANCH_TEST_UTIL_H_
#define KMS_ENVELOPE_TESTS_BRANCH_BRANCH_TEST_UTIL_H_

#include <memory>
#include <string>
#include <utility>

#include "gtest/gtest.h"
#include "kms_envelope/branch/branch_key_provider.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/local/local_key_provider.h"
#include "kms_envelope/local/local_key_store.h"
#include "tests/cache/counting_provider.h"
#include "tests/local/test_util.h"

namespace kms_envelope {
namespace branch_testing {

struct LocalKms {
  std::string directory;
  std::shared_ptr<local::LocalKeyProvider> real;
  std::shared_ptr<cache_testing::CountingProvider> counting;  // wraps `real`
  std::string cmk;                                            // GUID
};

// Opens (or creates, when cmk is empty) a local KMS in `directory`.
inline LocalKms OpenLocalKms(const std::string& directory, std::string cmk = "") {
  LocalKms kms;
  kms.directory = directory;
  local::LocalKeyStoreOptions options;
  options.directory = directory;
  auto store = local::LocalKeyStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return kms;
  std::shared_ptr<local::LocalKeyStore> shared = std::move(*store);
  if (cmk.empty()) {
    auto key = shared->CreateKey("branch key root");
    EXPECT_TRUE(key.ok()) << key.status();
    if (key.ok()) cmk = key->key_id;
  }
  kms.cmk = cmk;
  auto provider = local::LocalKeyProvider::New(shared);
  EXPECT_TRUE(provider.ok()) << provider.status();
  if (!provider.ok()) return kms;
  kms.real = std::move(*provider);
  kms.counting = std::make_shared<cache_testing::CountingProvider>(kms.real.get());
  return kms;
}

inline EncryptionContext Ctx(std::initializer_list<std::pair<const char*, const char*>> pairs) {
  std::vector<std::pair<std::string, std::string>> v;
  for (const auto& [k, val] : pairs) v.emplace_back(k, val);
  absl::StatusOr<EncryptionContext> ctx = EncryptionContext::FromPairs(v);
  EXPECT_TRUE(ctx.ok()) << ctx.status();
  return ctx.ok() ? *std::move(ctx) : EncryptionContext();
}

inline absl::Span<const uint8_t> B(const std::string& s) {
  return absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

}  // namespace branch_testing
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_TESTS_BRANCH_BRANCH_TEST_UTIL_H_
