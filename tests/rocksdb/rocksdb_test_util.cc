#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "kms_envelope/local/local_key_provider.h"
#include "kms_envelope/local/local_key_store.h"
#include "tests/rocksdb/rocksdb_test_util.h"

namespace kms_envelope {
namespace rocksdb_test {

absl::StatusOr<TestKms> NewTestKms(const std::string& name) {
  TestKms kms;
  kms.dir = TempPath(name);
  std::error_code ec;
  std::filesystem::remove_all(kms.dir, ec);
  local::LocalKeyStoreOptions options;
  options.directory = kms.dir;
  auto opened = local::LocalKeyStore::Open(options);
  if (!opened.ok()) return opened.status();
  std::shared_ptr<local::LocalKeyStore> store = std::move(opened).value();
  auto provider = local::LocalKeyProvider::New(store);
  if (!provider.ok()) return provider.status();
  auto key = store->CreateKey("rocksdb test");
  if (!key.ok()) return key.status();
  kms.provider = std::move(provider).value();
  kms.key_id = key->key_id;
  kms.store = store;
  kms.create_key = [store]() -> absl::StatusOr<std::string> {
    auto made = store->CreateKey("rocksdb test (second)");
    if (!made.ok()) return made.status();
    return made->key_id;
  };
  kms.rotate_key = [store](const std::string& key_id) { return store->RotateKey(key_id); };
  return kms;
}

std::string TempPath(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return std::string(tmp != nullptr ? tmp : "/tmp") + "/" + name;
}

std::vector<std::string> ListFiles(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file()) out.push_back(it->path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::Status PatchFile(const std::string& path, size_t offset, const std::string& bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(path);
  ssize_t w = ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
  ::close(fd);
  if (w != static_cast<ssize_t>(bytes.size())) return absl::InternalError("short write");
  return absl::OkStatus();
}

}  // namespace rocksdb_test
}  // namespace kms_envelope
