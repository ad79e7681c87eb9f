#include "tests/envelope/envelope_test_util.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "kms_envelope/status_macros.h"
#include "kms_envelope/local/local_key_provider.h"
#include "kms_envelope/local/local_key_store.h"

namespace kms_envelope {
namespace envelope_test {
namespace {

TestKms FromStore(std::shared_ptr<local::LocalKeyStore> store,
                  std::shared_ptr<KeyProvider> provider, std::string dir) {
  TestKms kms;
  kms.provider = std::move(provider);
  kms.dir = std::move(dir);
  kms.create_key = [store]() -> absl::StatusOr<std::string> {
    KMS_ASSIGN_OR_RETURN(local::KeyMetadata key, store->CreateKey("envelope test"));
    return key.key_id;
  };
  kms.rotate_key = [store](const std::string& key_id) -> absl::Status {
    return store->RotateKey(key_id).status();
  };
  return kms;
}

}  // namespace

absl::StatusOr<TestKms> NewTestKms(const std::string& name) {
  local::LocalKeyStoreOptions options;
  if (name.empty()) {
    options.in_memory = true;
  } else {
    options.directory = TempPath(name);
    std::filesystem::remove_all(options.directory);
  }
  KMS_ASSIGN_OR_RETURN(std::shared_ptr<local::LocalKeyStore> store,
                       local::LocalKeyStore::Open(options));
  KMS_ASSIGN_OR_RETURN(std::unique_ptr<local::LocalKeyProvider> provider,
                       local::LocalKeyProvider::New(store));
  TestKms kms = FromStore(store, std::move(provider), options.directory);
  KMS_ASSIGN_OR_RETURN(local::KeyMetadata key, store->CreateKey("envelope test"));
  kms.key_id = key.key_id;
  kms.alias = "alias/envelope-test";
  KMS_RETURN_IF_ERROR(store->CreateAlias(kms.alias, kms.key_id));
  return kms;
}

absl::StatusOr<TestKms> OpenTestKmsAt(const std::string& dir) {
  // Git does not keep file modes: the store refuses a root key readable by others.
  ::chmod((dir + "/root.key").c_str(), 0600);
  ::chmod(dir.c_str(), 0700);
  local::LocalKeyStoreOptions options;
  options.directory = dir;
  KMS_ASSIGN_OR_RETURN(std::shared_ptr<local::LocalKeyStore> store,
                       local::LocalKeyStore::Open(options));
  KMS_ASSIGN_OR_RETURN(std::unique_ptr<local::LocalKeyProvider> provider,
                       local::LocalKeyProvider::New(store));
  return FromStore(store, std::move(provider), dir);
}

std::string TestPlaintext(size_t size, uint8_t seed) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 131 + seed) % 251);
  return s;
}

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

}  // namespace envelope_test
}  // namespace kms_envelope
