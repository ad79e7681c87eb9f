// The kms_rocksdb_rewrap binary, run as a subprocess against a real database and key store.
#include <sys/wait.h>

#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "gtest/gtest.h"
#include "kms_envelope/testing/test_bytes.h"
#include "kms_envelope/local/local_key_provider.h"
#include "kms_envelope/local/local_key_store.h"
#include "kms_envelope/rocksdb/encryption_provider.h"
#include "kms_envelope/rocksdb/file_header.h"
#include "rocksdb/db.h"
#include "tests/rocksdb/rocksdb_test_util.h"

namespace kms_envelope {
namespace rocksdb_encryption {
namespace {

using rocksdb_test::ListFiles;
using rocksdb_test::ReadWholeFile;
using rocksdb_test::TempPath;

struct Result {
  int exit_code = -1;
  std::string out;  // stdout and stderr
};

Result RunTool(const std::string& args) {
  const std::string command = "kms_envelope/rocksdb/kms_rocksdb_rewrap " + args + " 2>&1";
  Result result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) result.out.append(buf, n);
  int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

TEST(RewrapTool, RewrapsADatabaseAfterRotationAndReportsJson) {
  const std::string home = TempPath("tool-kms");
  const std::string path = TempPath("tool-db");
  local::LocalKeyStoreOptions store_options;
  store_options.directory = home;
  std::shared_ptr<local::LocalKeyStore> store = local::LocalKeyStore::Open(store_options).value();
  const std::string key_id = store->CreateKey("tool test").value().key_id;
  std::shared_ptr<KeyProvider> kms = local::LocalKeyProvider::New(store).value();
  {
    FileKeyManagerOptions options;
    options.key_id = key_id;
    auto env = NewKmsEncryptedEnv(kms, options).value();
    rocksdb::Options db_options;
    db_options.env = env.get();
    db_options.create_if_missing = true;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(db_options, path, &db).ok());
    for (int i = 0; i < 1000; ++i) {
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "k" + std::to_string(i), "v").ok());
    }
    ASSERT_TRUE(db->Flush(rocksdb::FlushOptions()).ok());
    ASSERT_TRUE(db->Close().ok());
    delete db;
  }
  const std::string version = store->RotateKey(key_id).value();

  Result run = RunTool("--db " + path + " --kms-home " + home);
  ASSERT_EQ(run.exit_code, 0) << run.out;
  nlohmann::json report = nlohmann::json::parse(run.out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << run.out;
  EXPECT_GE(report["FilesRewrapped"].get<int>(), 4) << run.out;
  EXPECT_EQ(report["FilesUpToDate"].get<int>(), 0) << run.out;
  for (const std::string& name : ListFiles(path)) {
    const std::string bytes = ReadWholeFile(path + "/" + name);
    if (bytes.size() < kFilePrefixSize || !HasFileHeaderMagic(kms_envelope::testing::Bytes(bytes))) continue;
    auto parsed = ParseFileHeaderSlot(kms_envelope::testing::Bytes(bytes).subspan(0, kFileHeaderSlotSize));
    ASSERT_TRUE(parsed.ok()) << name;
    EXPECT_EQ(parsed->header.key_version_id, version) << name;
  }
  // Again: nothing to do.
  run = RunTool("--db " + path + " --kms-home " + home);
  ASSERT_EQ(run.exit_code, 0) << run.out;
  EXPECT_EQ(nlohmann::json::parse(run.out)["FilesRewrapped"].get<int>(), 0) << run.out;

  // Another store cannot unwrap the keys: exit 1, a JSON error with the KMS code.
  run = RunTool("--db " + path + " --kms-home " + TempPath("tool-other-kms"));
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_NE(run.out.find("\"Code\":\"InvalidCiphertext\""), std::string::npos) << run.out;
  // An unknown destination alias.
  run = RunTool("--db " + path + " --kms-home " + home + " --to alias/none");
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_NE(run.out.find("Forbidden.AliasNotFound"), std::string::npos) << run.out;
  // No provider given.
  EXPECT_EQ(RunTool("--db " + path).exit_code, 2);
}

}  // namespace
}  // namespace rocksdb_encryption
}  // namespace kms_envelope
