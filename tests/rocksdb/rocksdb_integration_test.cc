// End-to-end: a real RocksDB database on the KMS-encrypted Env with the local key provider.
#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "kms_envelope/cache/caching_key_provider.h"
#include "kms_envelope/testing/test_bytes.h"
#include "kms_envelope/rocksdb/encrypted_info_log.h"
#include "kms_envelope/rocksdb/encryption_provider.h"
#include "kms_envelope/rocksdb/file_header.h"
#include "kms_envelope/rocksdb/rewrap.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"
#include "tests/rocksdb/rocksdb_test_util.h"

namespace kms_envelope {
namespace rocksdb_encryption {
namespace {

using rocksdb_test::ListFiles;
using rocksdb_test::NewTestKms;
using rocksdb_test::PatchFile;
using rocksdb_test::ReadWholeFile;
using rocksdb_test::TempPath;
using rocksdb_test::TestKms;

constexpr char kMarker[] = "PLAINTEXT-MARKER-7f3a";

std::string Key(int i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "user-key-%07d", i);
  return buf;
}

// Distinctive, compressible-but-compression-off values: marker + index + filler.
std::string Value(int i) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s-%07d-", kMarker, i);
  return std::string(buf) + std::string(40, static_cast<char>('a' + i % 26));
}

struct EncryptedDb {
  std::shared_ptr<KmsEncryptionProvider> provider;
  std::unique_ptr<rocksdb::Env> env;
  std::unique_ptr<rocksdb::DB> db;
};

std::shared_ptr<KmsEncryptionProvider> NewProvider(const TestKms& kms,
                                                   FileCipherId cipher = FileCipherId::kAes256Ctr) {
  FileKeyManagerOptions options;
  options.key_id = kms.key_id;
  options.cipher = cipher;
  auto provider = KmsEncryptionProvider::New(kms.provider, options);
  EXPECT_TRUE(provider.ok()) << provider.status();
  return provider.ok() ? *provider : nullptr;
}

rocksdb::Options DbOptions(rocksdb::Env* env) {
  rocksdb::Options options;
  options.env = env;
  options.create_if_missing = true;
  options.compression = rocksdb::kNoCompression;  // values must reach the files verbatim
  options.paranoid_checks = true;
  options.write_buffer_size = 4 << 20;
  options.avoid_flush_during_shutdown = true;
  return options;
}

rocksdb::Status OpenDb(std::shared_ptr<KmsEncryptionProvider> provider, const std::string& path,
                       EncryptedDb* out) {
  out->provider = provider;
  out->env.reset(rocksdb::NewEncryptedEnv(rocksdb::Env::Default(), provider));
  rocksdb::Options options = DbOptions(out->env.get());
  absl::Status log = UseEncryptedInfoLog(path, &options);
  if (!log.ok()) return rocksdb::Status::IOError(std::string(log.message()));
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, path, &db);
  out->db.reset(db);
  return s;
}

void WriteKeys(rocksdb::DB* db, int begin, int end) {
  for (int i = begin; i < end;) {
    rocksdb::WriteBatch batch;
    for (int j = 0; j < 1000 && i < end; ++j, ++i) {
      ASSERT_TRUE(batch.Put(Key(i), Value(i)).ok());
    }
    rocksdb::Status s = db->Write(rocksdb::WriteOptions(), &batch);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
}

// Creates the database at `path` through `provider` with keys [0, keys) flushed to an SST, and
// closes it. Call as ASSERT_NO_FATAL_FAILURE(CreateFlushedDb(...)).
void CreateFlushedDb(std::shared_ptr<KmsEncryptionProvider> provider, const std::string& path,
                     int keys) {
  EncryptedDb edb;
  rocksdb::Status s = OpenDb(std::move(provider), path, &edb);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_NO_FATAL_FAILURE(WriteKeys(edb.db.get(), 0, keys));
  ASSERT_TRUE(edb.db->Flush(rocksdb::FlushOptions()).ok());
  ASSERT_TRUE(edb.db->Close().ok());
}

// Every key in [begin, end) reads back with its value.
void ExpectKeys(rocksdb::DB* db, int begin, int end) {
  int bad = 0;
  std::string value;
  for (int i = begin; i < end; ++i) {
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), Key(i), &value);
    if (!s.ok() || value != Value(i)) {
      if (++bad < 5) ADD_FAILURE() << Key(i) << ": " << s.ToString();
    }
  }
  EXPECT_EQ(bad, 0);
}

// RocksDB 7.8's encrypted Env does not wrap NewLogger, so OpenDb routes the info log (LOG,
// LOG.old.*) through the encrypted Env with UseEncryptedInfoLog: it is encrypted like the rest.
bool IsInfoLog(const std::string& name) { return name.compare(0, 3, "LOG") == 0; }

// No raw file in `dir` contains the marker or a key; every file except LOCK (created by
// RocksDB's lock call, empty) carries a kms_envelope header.
void ExpectNoPlaintextOnDisk(const std::string& dir, size_t* encrypted_files) {
  *encrypted_files = 0;
  for (const std::string& name : ListFiles(dir)) {
    const std::string bytes = ReadWholeFile(dir + "/" + name);
    EXPECT_EQ(bytes.find(kMarker), std::string::npos) << name << " holds a value in clear";
    EXPECT_EQ(bytes.find("user-key-"), std::string::npos) << name << " holds a key in clear";
    if (name == "LOCK") continue;
    ASSERT_GE(bytes.size(), kFilePrefixSize) << name;
    EXPECT_EQ(bytes.compare(0, kFileHeaderMagic.size(), std::string(kFileHeaderMagic)), 0) << name;
    ++*encrypted_files;
  }
}

// Both header slots of `path`, parsed (no verification).
std::vector<FileHeader> ReadHeaders(const std::string& path) {
  const std::string bytes = ReadWholeFile(path);
  std::vector<FileHeader> out;
  for (size_t i = 0; i < kFileHeaderSlotCount && bytes.size() >= kFilePrefixSize; ++i) {
    auto parsed = ParseFileHeaderSlot(kms_envelope::testing::Bytes(bytes).subspan(i * kFileHeaderSlotSize,
                                                                     kFileHeaderSlotSize));
    EXPECT_TRUE(parsed.ok()) << path << " slot " << i << ": " << parsed.status();
    if (parsed.ok()) out.push_back(parsed->header);
  }
  return out;
}

std::string FirstFileWithSuffix(const std::string& dir, const std::string& suffix) {
  for (const std::string& name : ListFiles(dir)) {
    if (name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return dir + "/" + name;
    }
  }
  return "";
}

// The keys' bytes as RocksDB's DebugString(hex=true) prints them (upper-case hex).
std::string HexUpper(const std::string& s) {
  static const char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

TEST(RocksDbEncryption, AManualCompactionOfAKeyRangeLeavesNoKeyInTheInfoLog) {
  auto kms = NewTestKms("kms-range");
  ASSERT_TRUE(kms.ok()) << kms.status();
  const std::string path = TempPath("db-range");
  {
    EncryptedDb edb;
    rocksdb::Status s = OpenDb(NewProvider(*kms), path, &edb);
    ASSERT_TRUE(s.ok()) << s.ToString();
    WriteKeys(edb.db.get(), 0, 20000);
    ASSERT_TRUE(edb.db->Flush(rocksdb::FlushOptions()).ok());
    WriteKeys(edb.db.get(), 10000, 30000);
    ASSERT_TRUE(edb.db->Flush(rocksdb::FlushOptions()).ok());
    const std::string begin = Key(1000), end = Key(25000);
    rocksdb::Slice b(begin), e(end);
    s = edb.db->CompactRange(rocksdb::CompactRangeOptions(), &b, &e);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_TRUE(edb.db->Close().ok());
  }
  // On disk: no key, in clear or in hex, in any file (the info log included).
  const std::string hex_prefix = HexUpper("user-key-");
  int logs = 0;
  for (const std::string& name : ListFiles(path)) {
    const std::string bytes = ReadWholeFile(path + "/" + name);
    EXPECT_EQ(bytes.find("user-key-"), std::string::npos) << name << " holds a key in clear";
    EXPECT_EQ(bytes.find(hex_prefix), std::string::npos) << name << " holds a key in hex";
    logs += IsInfoLog(name);
  }
  EXPECT_EQ(logs, 1);
  // Through the encrypted Env the log reads back, and it does record the compaction's range
  // in hex: this is what used to be on disk in clear.
  std::unique_ptr<rocksdb::Env> env(rocksdb::NewEncryptedEnv(rocksdb::Env::Default(),
                                                             NewProvider(*kms)));
  std::string text;
  rocksdb::Status read = rocksdb::ReadFileToString(env.get(), path + "/LOG", &text);
  ASSERT_TRUE(read.ok()) << read.ToString();
  EXPECT_NE(text.find("Manual compaction"), std::string::npos);
  EXPECT_NE(text.find(hex_prefix), std::string::npos);
}

TEST(RocksDbEncryption, WritesCompactsReopensAndReadsEveryKeyWithNoPlaintextOnDisk) {
  auto kms = NewTestKms("kms-main");
  ASSERT_TRUE(kms.ok()) << kms.status();
  const std::string path = TempPath("db-main");
  constexpr int kKeys = 100000;
  {
    EncryptedDb edb;
    rocksdb::Status s = OpenDb(NewProvider(*kms), path, &edb);
    ASSERT_TRUE(s.ok()) << s.ToString();
    WriteKeys(edb.db.get(), 0, kKeys);
    ASSERT_TRUE(edb.db->Flush(rocksdb::FlushOptions()).ok());
    s = edb.db->CompactRange(rocksdb::CompactRangeOptions(), nullptr, nullptr);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ExpectKeys(edb.db.get(), 0, 1000);
    ASSERT_TRUE(edb.db->Close().ok());
  }
  size_t encrypted_files = 0;
  ExpectNoPlaintextOnDisk(path, &encrypted_files);
  EXPECT_GE(encrypted_files, 4u);  // CURRENT, MANIFEST, OPTIONS, IDENTITY, SSTs, LOG...
  ASSERT_FALSE(FirstFileWithSuffix(path, ".sst").empty());

  EncryptedDb edb;
  rocksdb::Status s = OpenDb(NewProvider(*kms), path, &edb);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ExpectKeys(edb.db.get(), 0, kKeys);
  // A full scan sees exactly the written keys, in order.
  std::unique_ptr<rocksdb::Iterator> it(edb.db->NewIterator(rocksdb::ReadOptions()));
  int n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++n) {
    if (it->key().ToString() != Key(n)) {
      ADD_FAILURE() << "scan out of order at " << n;
      break;
    }
  }
  EXPECT_TRUE(it->status().ok()) << it->status().ToString();
  EXPECT_EQ(n, kKeys);
  it.reset();
  EXPECT_TRUE(edb.db->VerifyChecksum().ok());
  const FileKeyManagerStats stats = edb.provider->manager().stats();
  EXPECT_GT(stats.files_opened, 0u);
  // The unwrap cache: re-opening a file RocksDB already opened in this process costs no KMS call.
  EXPECT_LE(stats.provider_decrypts, stats.files_opened);
  EXPECT_EQ(stats.degraded_opens, 0u);
}

TEST(RocksDbEncryption, RecoversUnflushedWritesFromTheEncryptedWal) {
  auto kms = NewTestKms("kms-wal");
  ASSERT_TRUE(kms.ok()) << kms.status();
  const std::string path = TempPath("db-wal");
  {
    EncryptedDb edb;
    ASSERT_TRUE(OpenDb(NewProvider(*kms, FileCipherId::kXChaCha20), path, &edb).ok());
    WriteKeys(edb.db.get(), 0, 5000);  // stays in the memtable and the WAL
    ASSERT_TRUE(edb.db->FlushWAL(true).ok());
    ASSERT_TRUE(edb.db->Close().ok());  // avoid_flush_during_shutdown: no SST is written
  }
  size_t encrypted_files = 0;
  ExpectNoPlaintextOnDisk(path, &encrypted_files);
  ASSERT_FALSE(FirstFileWithSuffix(path, ".log").empty());
  ASSERT_TRUE(FirstFileWithSuffix(path, ".sst").empty());
  EncryptedDb edb;
  rocksdb::Status s = OpenDb(NewProvider(*kms, FileCipherId::kXChaCha20), path, &edb);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ExpectKeys(edb.db.get(), 0, 5000);
}

TEST(RocksDbEncryption, OpeningWithADifferentKeyStoreFailsWithAClearError) {
  auto kms = NewTestKms("kms-owner");
  auto other = NewTestKms("kms-stranger");
  ASSERT_TRUE(kms.ok() && other.ok());
  const std::string path = TempPath("db-owner");
  ASSERT_NO_FATAL_FAILURE(CreateFlushedDb(NewProvider(*kms), path, 2000));
  EncryptedDb edb;
  rocksdb::Status s = OpenDb(NewProvider(*other), path, &edb);
  ASSERT_FALSE(s.ok());
  const std::string message = s.ToString();  // RocksDB may wrap it ("Found options ...")
  EXPECT_NE(message.find("Corruption: "), std::string::npos) << message;
  EXPECT_NE(message.find("/CURRENT: kms_envelope RocksDB"), std::string::npos) << message;
  EXPECT_NE(message.find("could not unwrap the file's data key"), std::string::npos) << message;
  // The other store knows no such CMK version: its Decrypt refuses the blob.
  EXPECT_TRUE(message.find("InvalidCiphertext") != std::string::npos ||
              message.find("Forbidden.KeyNotFound") != std::string::npos)
      << message;

  // And a plain (unencrypted) Env does not get anywhere either.
  rocksdb::DB* plain = nullptr;
  rocksdb::Options options;
  options.env = rocksdb::Env::Default();
  s = rocksdb::DB::Open(options, path, &plain);
  EXPECT_FALSE(s.ok());
  delete plain;
}

TEST(RocksDbEncryption, RewrapUnderARotatedCmkKeepsEveryKeyReadable) {
  auto kms = NewTestKms("kms-rotate");
  ASSERT_TRUE(kms.ok()) << kms.status();
  const std::string path = TempPath("db-rotate");
  constexpr int kKeys = 20000;
  EncryptedDb edb;
  ASSERT_TRUE(OpenDb(NewProvider(*kms), path, &edb).ok());
  WriteKeys(edb.db.get(), 0, kKeys);
  ASSERT_TRUE(edb.db->Flush(rocksdb::FlushOptions()).ok());

  std::string old_version;
  for (const FileHeader& h : ReadHeaders(FirstFileWithSuffix(path, ".sst"))) {
    old_version = h.key_version_id;
  }
  ASSERT_FALSE(old_version.empty());
  auto new_version = kms->rotate_key(kms->key_id);
  ASSERT_TRUE(new_version.ok()) << new_version.status();
  ASSERT_NE(*new_version, old_version);

  // Rewrap while the database is open and serving reads.
  std::atomic<bool> stop{false};
  std::atomic<int> read_errors{0};
  std::thread reader([&] {
    std::string value;
    for (int i = 0; !stop.load(); i = (i + 7919) % kKeys) {
      if (!edb.db->Get(rocksdb::ReadOptions(), Key(i), &value).ok() || value != Value(i)) {
        ++read_errors;
      }
    }
  });
  auto report = RewrapDirectory(edb.provider->manager(), path, RewrapOptions());
  stop = true;
  reader.join();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(read_errors.load(), 0);
  EXPECT_GE(report->files_rewrapped, 4u);
  for (const std::string& name : report->not_encrypted) {
    EXPECT_TRUE(name == "LOCK") << name;
  }
  ExpectKeys(edb.db.get(), 0, kKeys);
  ASSERT_TRUE(edb.db->Close().ok());
  edb.db.reset();

  // Every encrypted file's two header slots now name the new version.
  size_t checked = 0;
  for (const std::string& name : ListFiles(path)) {
    if (name == "LOCK") continue;
    for (const FileHeader& h : ReadHeaders(path + "/" + name)) {
      EXPECT_EQ(h.key_id, kms->key_id) << name;
      EXPECT_EQ(h.key_version_id, *new_version) << name;
      EXPECT_GE(h.generation, 2u) << name;
      ++checked;
    }
  }
  EXPECT_GE(checked, 8u);

  // A second run has nothing to do.
  auto again = RewrapDirectory(edb.provider->manager(), path, RewrapOptions());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->files_rewrapped, 0u);
  EXPECT_GE(again->files_up_to_date, 4u);

  // Re-wrap under another CMK of the same store, then read everything with a fresh provider
  // (empty unwrap cache: every key really comes from the new blobs).
  auto second_cmk = kms->create_key();
  ASSERT_TRUE(second_cmk.ok()) << second_cmk.status();
  RewrapOptions to_other;
  to_other.destination_key_id = *second_cmk;
  auto moved = RewrapDirectory(edb.provider->manager(), path, to_other);
  ASSERT_TRUE(moved.ok()) << moved.status();
  for (const FileHeader& h : ReadHeaders(FirstFileWithSuffix(path, ".sst"))) {
    EXPECT_EQ(h.key_id, *second_cmk);
  }
  EncryptedDb reopened;
  rocksdb::Status s = OpenDb(NewProvider(*kms), path, &reopened);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ExpectKeys(reopened.db.get(), 0, kKeys);
  EXPECT_EQ(reopened.provider->manager().stats().degraded_opens, 0u);
}

TEST(RocksDbEncryption, ATornHeaderSlotIsToleratedAndRepairedByRewrap) {
  auto kms = NewTestKms("kms-torn");
  ASSERT_TRUE(kms.ok()) << kms.status();
  const std::string path = TempPath("db-torn");
  ASSERT_NO_FATAL_FAILURE(CreateFlushedDb(NewProvider(*kms), path, 3000));
  // Simulate a crash in the middle of writing slot B of an SST: its second half is garbage.
  const std::string sst = FirstFileWithSuffix(path, ".sst");
  ASSERT_TRUE(PatchFile(sst, kFileHeaderSlotSize + 40, std::string(700, '\x33')).ok());
  {
    EncryptedDb edb;
    rocksdb::Status s = OpenDb(NewProvider(*kms), path, &edb);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ExpectKeys(edb.db.get(), 0, 3000);
    EXPECT_GE(edb.provider->manager().stats().degraded_opens, 1u);
    ASSERT_TRUE(edb.db->Close().ok());
    edb.db.reset();
    auto report = RewrapDirectory(edb.provider->manager(), path, RewrapOptions());
    ASSERT_TRUE(report.ok()) << report.status();
  }
  EXPECT_EQ(ReadHeaders(sst).size(), 2u);  // both slots parse again
  EncryptedDb edb;
  ASSERT_TRUE(OpenDb(NewProvider(*kms), path, &edb).ok());
  ExpectKeys(edb.db.get(), 0, 3000);
  EXPECT_EQ(edb.provider->manager().stats().degraded_opens, 0u);
}

TEST(RocksDbEncryption, ATamperedHeaderIsReportedClearly) {
  auto kms = NewTestKms("kms-tamper");
  ASSERT_TRUE(kms.ok()) << kms.status();
  const std::string path = TempPath("db-tamper");
  ASSERT_NO_FATAL_FAILURE(CreateFlushedDb(NewProvider(*kms), path, 3000));
  // Change the file salt (an authenticated field) of CURRENT in both slots.
  const std::string current = path + "/CURRENT";
  std::string bytes = ReadWholeFile(current);
  ASSERT_GE(bytes.size(), kFilePrefixSize);
  for (size_t slot = 0; slot < kFileHeaderSlotCount; ++slot) {
    const size_t at = slot * kFileHeaderSlotSize + 25;  // inside the salt
    ASSERT_TRUE(PatchFile(current, at, std::string(1, static_cast<char>(bytes[at] ^ 0x40))).ok());
  }
  EncryptedDb edb;
  rocksdb::Status s = OpenDb(NewProvider(*kms), path, &edb);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("Corruption: "), std::string::npos) << s.ToString();
  EXPECT_NE(s.ToString().find("/CURRENT: kms_envelope RocksDB"), std::string::npos) << s.ToString();
  EXPECT_NE(s.ToString().find("header authentication failed"), std::string::npos) << s.ToString();

  // Restore CURRENT, then corrupt an SST's magic in both slots: "no readable header slot".
  ASSERT_TRUE(PatchFile(current, 0, bytes.substr(0, kFilePrefixSize)).ok());
  const std::string sst = FirstFileWithSuffix(path, ".sst");
  ASSERT_TRUE(PatchFile(sst, 0, "XXXXXXXX").ok());
  ASSERT_TRUE(PatchFile(sst, kFileHeaderSlotSize, "XXXXXXXX").ok());
  s = OpenDb(NewProvider(*kms), path, &edb);
  if (s.ok()) {
    std::string value;
    s = edb.db->Get(rocksdb::ReadOptions(), Key(1), &value);
  }
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("bad magic"), std::string::npos) << s.ToString();
}

TEST(RocksDbEncryption, AFlippedContentByteIsCaughtByRocksDbChecksumsNotByTheCipher) {
  // Documents the integrity model: contents are malleable; RocksDB's block checksums catch it.
  auto kms = NewTestKms("kms-contents");
  ASSERT_TRUE(kms.ok()) << kms.status();
  const std::string path = TempPath("db-contents");
  ASSERT_NO_FATAL_FAILURE(CreateFlushedDb(NewProvider(*kms), path, 3000));
  const std::string sst = FirstFileWithSuffix(path, ".sst");
  const std::string bytes = ReadWholeFile(sst);
  const size_t at = kFilePrefixSize + 100;  // inside the first data block
  ASSERT_TRUE(PatchFile(sst, at, std::string(1, static_cast<char>(bytes[at] ^ 0x01))).ok());
  EncryptedDb edb;
  rocksdb::Status s = OpenDb(NewProvider(*kms), path, &edb);
  ASSERT_TRUE(s.ok()) << s.ToString();  // headers are intact
  s = edb.db->VerifyChecksum();
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
}


TEST(RocksDbEncryption, WorksOverACachingKeyProviderWhichGivesEachFileItsOwnDataKey) {
  // A file's size is unknown when its key is generated, so the cache cannot count it against its
  // byte limit and hands every file a fresh key; each file also gets its own salt.
  auto kms = NewTestKms("kms-cached");
  ASSERT_TRUE(kms.ok()) << kms.status();
  cache::CachingKeyProvider::Options cache_options;
  auto cached = cache::CachingKeyProvider::NewBorrowing(kms->provider.get(), cache_options);
  ASSERT_TRUE(cached.ok()) << cached.status();
  std::shared_ptr<KeyProvider> caching = std::move(cached).value();
  FileKeyManagerOptions options;
  options.key_id = kms->key_id;
  auto provider = KmsEncryptionProvider::New(caching, options);
  ASSERT_TRUE(provider.ok()) << provider.status();

  const std::string path = TempPath("db-cached");
  ASSERT_NO_FATAL_FAILURE(CreateFlushedDb(*provider, path, 5000));
  auto* cache_stats = static_cast<cache::CachingKeyProvider*>(caching.get());
  EXPECT_EQ(cache_stats->stats().generate_hits, 0u);
  std::map<std::string, std::set<std::string>> salts_by_blob;
  for (const std::string& name : ListFiles(path)) {
    if (name == "LOCK") continue;
    for (const FileHeader& h : ReadHeaders(path + "/" + name)) {
      salts_by_blob[h.ciphertext_blob].insert(std::string(h.file_salt.begin(), h.file_salt.end()));
      break;
    }
  }
  size_t files = 0;
  for (const auto& [blob, salts] : salts_by_blob) files += salts.size();
  EXPECT_EQ(salts_by_blob.size(), files);  // no blob is shared
  size_t encrypted_files = 0;
  ExpectNoPlaintextOnDisk(path, &encrypted_files);
  EXPECT_EQ(files, encrypted_files);

  // A plain LocalKeyProvider (no cache) reads it all back.
  EncryptedDb edb;
  rocksdb::Status s = OpenDb(NewProvider(*kms), path, &edb);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ExpectKeys(edb.db.get(), 0, 5000);
}


TEST(RocksDbEncryption, FreshReadersKeepOpeningTheDatabaseWhileKeysAreRewrapped) {
  // Each reader opens the database read-only with its own provider and no unwrap cache, so every
  // open reads every file's header while the rewrap is rewriting them.
  auto kms = NewTestKms("kms-live");
  ASSERT_TRUE(kms.ok()) << kms.status();
  auto second_cmk = kms->create_key();
  ASSERT_TRUE(second_cmk.ok()) << second_cmk.status();
  const std::string path = TempPath("db-live");
  EncryptedDb writer;
  ASSERT_TRUE(OpenDb(NewProvider(*kms), path, &writer).ok());
  for (int batch = 0; batch < 4; ++batch) {  // several SSTs
    WriteKeys(writer.db.get(), batch * 2000, (batch + 1) * 2000);
    ASSERT_TRUE(writer.db->Flush(rocksdb::FlushOptions()).ok());
  }

  std::atomic<bool> stop{false};
  std::atomic<int> opens{0}, failures{0};
  std::string first_failure;
  std::thread reader([&] {
    while (!stop.load()) {
      FileKeyManagerOptions options;
      options.key_id = kms->key_id;
      options.unwrap_cache_capacity = 0;
      auto provider = KmsEncryptionProvider::New(kms->provider, options);
      std::unique_ptr<rocksdb::Env> env(rocksdb::NewEncryptedEnv(rocksdb::Env::Default(), *provider));
      rocksdb::Options db_options = DbOptions(env.get());
      rocksdb::DB* db = nullptr;
      rocksdb::Status s = rocksdb::DB::OpenForReadOnly(db_options, path, &db);
      std::string value;
      if (s.ok()) s = db->Get(rocksdb::ReadOptions(), Key(4321), &value);
      if (s.ok() && value != Value(4321)) s = rocksdb::Status::Corruption("wrong value");
      if (!s.ok() && failures++ == 0) first_failure = s.ToString();
      delete db;
      ++opens;
    }
  });
  for (int round = 0; round < 10; ++round) {
    RewrapOptions options;
    options.destination_key_id = round % 2 == 0 ? *second_cmk : kms->key_id;
    auto report = RewrapDirectory(writer.provider->manager(), path, options);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_GE(report->files_rewrapped, 4u);
  }
  const int opens_during_rewrap = opens.load();
  while (opens.load() < 3) std::this_thread::yield();
  stop = true;
  reader.join();
  EXPECT_EQ(failures.load(), 0) << first_failure;
  ::testing::Test::RecordProperty("reader_opens_during_rewrap", opens_during_rewrap);
  ExpectKeys(writer.db.get(), 0, 8000);
}

}  // namespace
}  // namespace rocksdb_encryption
}  // namespace kms_envelope
