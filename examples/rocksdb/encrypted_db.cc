// Example: a RocksDB database encrypted at rest with per-file KMS data keys.
//
//   bazel run //examples/rocksdb:encrypted_db -- --kms-home /tmp/kms --db /tmp/db
//   bazel run //examples/rocksdb:encrypted_db -- --kms-home /tmp/kms --db /tmp/db --rotate
//
// 1. opens (or creates) a local CMK store in --kms-home and makes sure the CMK
//    alias/rocksdb-example exists;
// 2. opens the database in --db on rocksdb::NewEncryptedEnv with KmsEncryptionProvider;
// 3. writes --keys keys, flushes, reads them back;
// 4. with --rotate: rotates the CMK (new primary version), closes the database, re-wraps every
//    file's data key under the new version (headers only), reopens and reads everything again.
#include <cstdio>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/key_provider.h"
#include "kms_envelope/local/local_key_provider.h"
#include "kms_envelope/local/local_key_store.h"
#include "kms_envelope/rocksdb/encrypted_info_log.h"
#include "kms_envelope/rocksdb/encryption_provider.h"
#include "kms_envelope/rocksdb/rewrap.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"

namespace {

using kms_envelope::KeyProvider;
using kms_envelope::rocksdb_encryption::FileKeyManagerOptions;
using kms_envelope::rocksdb_encryption::KmsEncryptionProvider;
using kms_envelope::rocksdb_encryption::RewrapDirectory;
using kms_envelope::rocksdb_encryption::RewrapOptions;
using kms_envelope::rocksdb_encryption::UseEncryptedInfoLog;

constexpr char kAlias[] = "alias/rocksdb-example";

// A local KMS holding the example's CMK (created on first run, found by its alias later).
struct LocalKms {
  std::shared_ptr<kms_envelope::local::LocalKeyStore> store;
  std::shared_ptr<KeyProvider> provider;
};

absl::StatusOr<LocalKms> OpenLocalKms(const std::string& home, const std::string& alias) {
  kms_envelope::local::LocalKeyStoreOptions options;
  options.directory = home;
  LocalKms kms;
  KMS_ASSIGN_OR_RETURN(kms.store, kms_envelope::local::LocalKeyStore::Open(options));
  if (!kms.store->ResolveKeyId(alias).ok()) {
    KMS_ASSIGN_OR_RETURN(kms_envelope::local::KeyMetadata key,
                         kms.store->CreateKey("RocksDB example: wraps per-file data keys"));
    KMS_RETURN_IF_ERROR(kms.store->CreateAlias(alias, key.key_id));
    std::printf("created CMK %s as %s\n", key.key_id.c_str(), alias.c_str());
  }
  KMS_ASSIGN_OR_RETURN(kms.provider, kms_envelope::local::LocalKeyProvider::New(kms.store));
  return kms;
}

absl::Status Check(const rocksdb::Status& s, const char* what) {
  if (s.ok()) return absl::OkStatus();
  return absl::InternalError(std::string(what) + ": " + s.ToString());
}

struct Db {
  std::unique_ptr<rocksdb::Env> env;  // declared first: destroyed after the DB
  std::unique_ptr<rocksdb::DB> db;
};

absl::StatusOr<Db> OpenDb(std::shared_ptr<KmsEncryptionProvider> provider,
                          const std::string& path) {
  Db out;
  // The one line that turns encryption on.
  out.env.reset(rocksdb::NewEncryptedEnv(rocksdb::Env::Default(), provider));
  rocksdb::Options options;
  options.env = out.env.get();
  options.create_if_missing = true;
  // The info log through the encrypted Env too (RocksDB's default one is written in clear).
  KMS_RETURN_IF_ERROR(UseEncryptedInfoLog(path, &options));
  rocksdb::DB* db = nullptr;
  KMS_RETURN_IF_ERROR(Check(rocksdb::DB::Open(options, path, &db), "DB::Open"));
  out.db.reset(db);
  return out;
}

std::string KeyOf(int i) { return "key-" + std::to_string(i); }
std::string ValueOf(int i) { return "confidential value #" + std::to_string(i); }

absl::Status ReadAll(rocksdb::DB* db, int keys) {
  std::string value;
  for (int i = 0; i < keys; ++i) {
    KMS_RETURN_IF_ERROR(Check(db->Get(rocksdb::ReadOptions(), KeyOf(i), &value), "Get"));
    if (value != ValueOf(i)) return absl::DataLossError("wrong value for " + KeyOf(i));
  }
  std::printf("read %d keys back\n", keys);
  return absl::OkStatus();
}

absl::Status Run(const std::string& kms_home, const std::string& db_path, int keys, bool rotate) {
  KMS_ASSIGN_OR_RETURN(LocalKms kms, OpenLocalKms(kms_home, kAlias));
  FileKeyManagerOptions key_options;
  key_options.key_id = kAlias;
  KMS_ASSIGN_OR_RETURN(std::shared_ptr<KmsEncryptionProvider> provider,
                       KmsEncryptionProvider::New(kms.provider, key_options));
  {
    KMS_ASSIGN_OR_RETURN(Db db, OpenDb(provider, db_path));
    for (int i = 0; i < keys; ++i) {
      KMS_RETURN_IF_ERROR(Check(db.db->Put(rocksdb::WriteOptions(), KeyOf(i), ValueOf(i)), "Put"));
    }
    KMS_RETURN_IF_ERROR(Check(db.db->Flush(rocksdb::FlushOptions()), "Flush"));
    std::printf("wrote %d keys to %s (encrypted)\n", keys, db_path.c_str());
    KMS_RETURN_IF_ERROR(ReadAll(db.db.get(), keys));
    KMS_RETURN_IF_ERROR(Check(db.db->Close(), "Close"));
  }
  if (rotate) {
    KMS_ASSIGN_OR_RETURN(std::string version, kms.store->RotateKey(kAlias));
    std::printf("rotated %s; new primary version %s\n", kAlias, version.c_str());
    KMS_ASSIGN_OR_RETURN(auto report, RewrapDirectory(provider->manager(), db_path, RewrapOptions()));
    std::printf("re-wrapped %zu files (%zu already current, %zu without a header)\n",
                report.files_rewrapped, report.files_up_to_date, report.not_encrypted.size());
    KMS_ASSIGN_OR_RETURN(Db db, OpenDb(provider, db_path));
    KMS_RETURN_IF_ERROR(ReadAll(db.db.get(), keys));
  }
  const auto stats = provider->manager().stats();
  std::printf("data keys generated: %llu, KMS decrypts: %llu, unwrap cache hits: %llu\n",
              static_cast<unsigned long long>(stats.data_keys_generated),
              static_cast<unsigned long long>(stats.provider_decrypts),
              static_cast<unsigned long long>(stats.cache_hits));
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"RocksDB encrypted at rest with KMS envelope data keys"};
  std::string kms_home, db_path;
  int keys = 1000;
  bool rotate = false;
  app.add_option("--kms-home", kms_home, "local key store directory")->required();
  app.add_option("--db", db_path, "database directory")->required();
  app.add_option("--keys", keys, "how many keys to write")->check(CLI::Range(1, 10000000));
  app.add_flag("--rotate", rotate, "rotate the CMK and re-wrap every file's data key");
  CLI11_PARSE(app, argc, argv);
  absl::Status status = Run(kms_home, db_path, keys, rotate);
  if (!status.ok()) {
    std::fprintf(stderr, "error: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
