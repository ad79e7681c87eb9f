// RocksDB on the encrypted Env with the remote provider: RemoteKeyProvider -> real HTTP on
// loopback -> KmsServer (`kms-envelope serve`) -> a LocalKeyStore under $TEST_TMPDIR.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "kms_envelope/testing/test_bytes.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/local/local_key_store.h"
#include "kms_envelope/remote/credentials.h"
#include "kms_envelope/remote/remote_key_provider.h"
#include "kms_envelope/rocksdb/encryption_provider.h"
#include "kms_envelope/rocksdb/file_header.h"
#include "kms_envelope/rocksdb/rewrap.h"
#include "kms_envelope/server/access_policy.h"
#include "kms_envelope/server/kms_server.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "tests/rocksdb/rocksdb_test_util.h"
#include "tests/server/test_kms_server.h"

namespace kms_envelope {
namespace rocksdb_encryption {
namespace {

using rocksdb_test::ListFiles;
using rocksdb_test::ReadWholeFile;
using rocksdb_test::TempPath;

struct RemoteKms {
  std::shared_ptr<local::LocalKeyStore> store;
  std::unique_ptr<server::KmsServer> server;
  std::string key_id;
  std::string other_key_id;
  std::string endpoint;
};

// A server with two CMKs and two access keys: "app" may use only the first CMK, "admin" both.
std::unique_ptr<RemoteKms> StartServer(const std::string& name) {
  testing::TestKmsServerOptions o;
  o.store_directory = TempPath(name);
  o.key_descriptions = {"rocksdb remote", "rocksdb remote (other)"};
  o.add_access_keys = [](const std::vector<std::string>& key_ids, server::AccessPolicy& policy) {
    KMS_RETURN_IF_ERROR(policy.Add("app", "app-secret",
                                   {"GenerateDataKey", "Decrypt", "ReEncrypt", "Encrypt"},
                                   {key_ids[0]}));
    return policy.Add("admin", "admin-secret", {"*"}, {"*"});
  };
  auto started = testing::StartTestKmsServer(std::move(o));
  EXPECT_TRUE(started.ok()) << started.status();
  if (!started.ok()) return nullptr;
  auto kms = std::make_unique<RemoteKms>();
  kms->store = started->store;
  kms->server = std::move(started->server);
  kms->key_id = started->key_ids[0];
  kms->other_key_id = started->key_ids[1];
  kms->endpoint = started->endpoint();
  return kms;
}

std::shared_ptr<KeyProvider> Remote(const RemoteKms& kms, const std::string& id,
                                    const std::string& secret) {
  remote::RemoteKeyProviderOptions options;
  options.endpoint = kms.endpoint;
  options.retry.max_attempts = 2;
  auto provider = remote::RemoteKeyProvider::New(std::move(options),
                                                 remote::Credentials::New(id, secret).value());
  EXPECT_TRUE(provider.ok()) << provider.status();
  return provider.ok() ? std::shared_ptr<KeyProvider>(std::move(provider).value()) : nullptr;
}

struct Db {
  std::shared_ptr<KmsEncryptionProvider> provider;
  std::unique_ptr<rocksdb::Env> env;
  std::unique_ptr<rocksdb::DB> db;
};

rocksdb::Status OpenDb(std::shared_ptr<KeyProvider> kms, const std::string& key_id,
                       const std::string& path, Db* out) {
  FileKeyManagerOptions options;
  options.key_id = key_id;
  out->provider = KmsEncryptionProvider::New(std::move(kms), options).value();
  out->env.reset(rocksdb::NewEncryptedEnv(rocksdb::Env::Default(), out->provider));
  rocksdb::Options db_options;
  db_options.env = out->env.get();
  db_options.create_if_missing = true;
  db_options.compression = rocksdb::kNoCompression;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, path, &db);
  out->db.reset(db);
  return s;
}

std::string Key(int i) { return "remote-key-" + std::to_string(i); }
std::string Value(int i) { return "REMOTE-SECRET-VALUE-" + std::to_string(i); }

TEST(RocksDbEncryptionRemote, WritesRotatesAndReadsThroughTheKmsApiOnLoopback) {
  auto kms = StartServer("remote-kms");
  ASSERT_NE(kms, nullptr);
  const std::string path = TempPath("remote-db");
  {
    Db db;
    rocksdb::Status s = OpenDb(Remote(*kms, "app", "app-secret"), kms->key_id, path, &db);
    ASSERT_TRUE(s.ok()) << s.ToString();
    for (int i = 0; i < 5000; ++i) {
      ASSERT_TRUE(db.db->Put(rocksdb::WriteOptions(), Key(i), Value(i)).ok());
    }
    ASSERT_TRUE(db.db->Flush(rocksdb::FlushOptions()).ok());
    ASSERT_TRUE(db.db->Close().ok());
    EXPECT_GT(db.provider->manager().stats().data_keys_generated, 3u);
  }
  for (const std::string& name : ListFiles(path)) {
    EXPECT_EQ(ReadWholeFile(path + "/" + name).find("REMOTE-SECRET-VALUE"), std::string::npos)
        << name;
  }
  // Rotate on the server, re-wrap through the API (ReEncrypt), read everything back.
  const std::string version = kms->store->RotateKey(kms->key_id).value();
  Db db;
  rocksdb::Status s = OpenDb(Remote(*kms, "app", "app-secret"), kms->key_id, path, &db);
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto report = RewrapDirectory(db.provider->manager(), path, RewrapOptions());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_GE(report->files_rewrapped, 4u);
  std::string value;
  for (int i = 0; i < 5000; ++i) {
    ASSERT_TRUE(db.db->Get(rocksdb::ReadOptions(), Key(i), &value).ok()) << i;
    ASSERT_EQ(value, Value(i));
  }
  ASSERT_TRUE(db.db->Close().ok());
  db.db.reset();
  Db reopened;
  s = OpenDb(Remote(*kms, "app", "app-secret"), kms->key_id, path, &reopened);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(reopened.db->Get(rocksdb::ReadOptions(), Key(4999), &value).ok());
  EXPECT_EQ(value, Value(4999));
  EXPECT_GT(kms->server->requests(), 0u);
  // Every header now names the rotated version (re-wrapped files and files created since).
  size_t checked = 0;
  for (const std::string& name : ListFiles(path)) {
    const std::string bytes = ReadWholeFile(path + "/" + name);
    if (bytes.size() < kFilePrefixSize || !HasFileHeaderMagic(kms_envelope::testing::Bytes(bytes))) continue;
    for (size_t slot = 0; slot < kFileHeaderSlotCount; ++slot) {
      auto parsed = ParseFileHeaderSlot(
          kms_envelope::testing::Bytes(bytes).subspan(slot * kFileHeaderSlotSize, kFileHeaderSlotSize));
      ASSERT_TRUE(parsed.ok()) << name << ": " << parsed.status();
      EXPECT_EQ(parsed->header.key_version_id, version) << name;
      ++checked;
    }
  }
  EXPECT_GE(checked, 8u);
}

TEST(RocksDbEncryptionRemote, AnAccessKeyWithoutRightsOnTheCmkCannotOpenTheDatabase) {
  auto kms = StartServer("remote-kms-denied");
  ASSERT_NE(kms, nullptr);
  const std::string path = TempPath("remote-db-denied");
  {
    Db db;
    // The admin key writes the database under the CMK that "app" may not use.
    rocksdb::Status s =
        OpenDb(Remote(*kms, "admin", "admin-secret"), kms->other_key_id, path, &db);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_TRUE(db.db->Put(rocksdb::WriteOptions(), Key(1), Value(1)).ok());
    ASSERT_TRUE(db.db->Close().ok());
  }
  Db db;
  rocksdb::Status s = OpenDb(Remote(*kms, "app", "app-secret"), kms->key_id, path, &db);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("Forbidden.NoPermission"), std::string::npos) << s.ToString();
  EXPECT_NE(s.ToString().find("could not unwrap"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace rocksdb_encryption
}  // namespace kms_envelope
