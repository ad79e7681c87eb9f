// Fuzz target: the key store loader (LocalKeyStore::Open of keystore.bin bytes) under the fixed
// TEST-ONLY root key (fuzz_store.h).
//
// Input: the first byte picks the mode, the rest is
//   even: the raw keystore.bin bytes (header parsing, size checks, authentication);
//   odd:  a JSON document, sealed into an authentic keystore.bin by the fuzz fixture's own
//         writer (docs/store-format.md), so the document parser and validation are reached.
// Invariants:
// - Open never crashes and fails only with DataLoss / FailedPrecondition; a refused file is left
//   byte-for-byte untouched.
// - An accepted store is consistent: every key has versions and its primary among them, a known
//   state; DescribeKey agrees with ListKeys; every alias resolves to a listed key; GenerateDataKey
//   + Decrypt round-trip on every Enabled key (and fail with Rejected.* otherwise).
// - Persisting round-trips: after a mutation (RotateKey, or CreateKey when nothing is Enabled) a
//   second LocalKeyStore opening the same directory sees exactly the same keys and aliases.
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_store.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/internal/uuid.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/local/ciphertext_blob.h"
#include "kms_envelope/local/local_key_provider.h"
#include "kms_envelope/local/local_key_store.h"

namespace {

using namespace kms_envelope;  // NOLINT: a fuzz target, not library code
using local::KeyMetadata;
using local::LocalKeyStore;

std::string g_dir;

void WriteStoreFile(const std::string& bytes) {
  const std::string path = g_dir + "/keystore.bin";
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  f.close();
  FUZZ_CHECK(f.good());
}

std::string ReadStoreFile() {
  std::ifstream f(g_dir + "/keystore.bin", std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

std::unique_ptr<LocalKeyStore> OpenStore(absl::Status* status) {
  local::LocalKeyStoreOptions options;
  options.directory = g_dir;
  auto store = LocalKeyStore::Open(options);
  if (!store.ok()) {
    *status = store.status();
    return nullptr;
  }
  *status = absl::OkStatus();
  return *std::move(store);
}

bool SameKey(const KeyMetadata& a, const KeyMetadata& b) {
  return a.key_id == b.key_id && a.description == b.description && a.key_state == b.key_state &&
         a.creation_date == b.creation_date && a.delete_date == b.delete_date &&
         a.primary_key_version == b.primary_key_version &&
         a.last_rotation_date == b.last_rotation_date && a.key_version_ids == b.key_version_ids;
}

// Checks the consistency invariants; returns the id of an Enabled key ("" when none).
std::string CheckConsistent(LocalKeyStore& store, local::LocalKeyProvider& provider) {
  auto keys = store.ListKeys();
  FUZZ_CHECK(keys.ok());
  std::string enabled;
  for (const KeyMetadata& k : *keys) {
    FUZZ_CHECK(internal::IsUuid(k.key_id));
    FUZZ_CHECK(!k.key_version_ids.empty());
    bool primary_listed = false;
    for (const std::string& v : k.key_version_ids) primary_listed |= v == k.primary_key_version;
    FUZZ_CHECK(primary_listed);
    FUZZ_CHECK(k.key_state == local::kKeyStateEnabled || k.key_state == local::kKeyStateDisabled ||
               k.key_state == local::kKeyStatePendingDeletion);
    auto described = store.DescribeKey(k.key_id);
    FUZZ_CHECK(described.ok() && SameKey(*described, k));

    GenerateDataKeyRequest request;
    request.key_id = k.key_id;
    auto dk = provider.GenerateDataKey(request);
    if (k.key_state == local::kKeyStateEnabled) {
      FUZZ_CHECK(dk.ok());
      FUZZ_CHECK(dk->key_id == k.key_id && dk->key_version_id == k.primary_key_version);
      DecryptRequest dreq;
      dreq.ciphertext_blob = internal::Bytes(dk->ciphertext_blob);
      auto back = provider.Decrypt(dreq);
      FUZZ_CHECK(back.ok() && back->plaintext.ConstantTimeEquals(dk->plaintext));
      if (enabled.empty()) enabled = k.key_id;
    } else {
      FUZZ_CHECK(!dk.ok());
      const std::string code = GetKmsErrorCode(dk.status());
      FUZZ_CHECK(code == kms_code::kDisabled || code == kms_code::kPendingDeletion);
    }
  }
  auto aliases = store.ListAliases();
  FUZZ_CHECK(aliases.ok());
  for (const local::AliasMetadata& a : *aliases) {
    FUZZ_CHECK(local::IsValidAliasName(a.alias_name));
    auto resolved = store.ResolveKeyId(a.alias_name);
    FUZZ_CHECK(resolved.ok() && *resolved == a.key_id);
    bool listed = false;
    for (const KeyMetadata& k : *keys) listed |= k.key_id == a.key_id;
    FUZZ_CHECK(listed);
  }
  return enabled;
}

int g_deep = 0;  // inputs that reached the deep path (KmsFuzzReplayCheck)

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_dir = fuzz::MakeFixedStoreDir();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string file = (data[0] & 1) ? fuzz::SealStoreFile(rest) : rest;
  WriteStoreFile(file);

  absl::Status status;
  std::unique_ptr<LocalKeyStore> store = OpenStore(&status);
  if (store == nullptr) {
    FUZZ_CHECK(status.code() == absl::StatusCode::kDataLoss ||
               status.code() == absl::StatusCode::kFailedPrecondition);
    FUZZ_CHECK(ReadStoreFile() == file);  // refused files are left untouched
    return 0;
  }
  ++g_deep;
  std::shared_ptr<LocalKeyStore> shared(std::move(store));
  auto provider = local::LocalKeyProvider::New(shared);
  FUZZ_CHECK(provider.ok());
  const std::string enabled = CheckConsistent(*shared, **provider);

  // Persist (a mutation writes the whole store) and reload in a second instance.
  if (!enabled.empty()) {
    FUZZ_CHECK(shared->RotateKey(enabled).ok());
  } else {
    FUZZ_CHECK(shared->CreateKey("fuzz").ok());
  }
  auto keys = shared->ListKeys();
  auto aliases = shared->ListAliases();
  FUZZ_CHECK(keys.ok() && aliases.ok());
  std::unique_ptr<LocalKeyStore> again = OpenStore(&status);
  FUZZ_CHECK(again != nullptr);
  auto keys2 = again->ListKeys();
  auto aliases2 = again->ListAliases();
  FUZZ_CHECK(keys2.ok() && aliases2.ok());
  FUZZ_CHECK(keys->size() == keys2->size());
  for (size_t i = 0; i < keys->size(); ++i) FUZZ_CHECK(SameKey((*keys)[i], (*keys2)[i]));
  FUZZ_CHECK(aliases->size() == aliases2->size());
  for (size_t i = 0; i < aliases->size(); ++i) {
    FUZZ_CHECK((*aliases)[i].alias_name == (*aliases2)[i].alias_name &&
               (*aliases)[i].key_id == (*aliases2)[i].key_id);
  }
  return 0;
}

extern "C" int KmsFuzzReplayCheck() {
  if (g_deep >= 4) return 0;
  std::fprintf(stderr, "only %d seeds loaded (expected at least 4)\n", g_deep);
  return 1;
}
