// Crash safety of the local key store under the real CLI: `kms-envelope key create`,
// `key rotate` and `alias create` are SIGKILLed at random points (hundreds of times), and after
// every batch the store is opened in-process and checked:
// - it opens (nothing half-written is accepted, nothing is left that makes it refuse to load);
// - every CMK whose creation the CLI acknowledged (printed its JSON) is present, with every
//   version whose rotation was acknowledged, and every acknowledged alias points at its key;
// - data keys generated under an acknowledged CMK right after the acknowledgement still
//   decrypt at the end (the key material was never replaced or lost).
// Unacknowledged operations may or may not have happened; both are fine.
//
// Figures (kills, runs, leftover temp files) are printed and recorded as test properties;
// docs/security.md quotes them.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kms_envelope/testing/test_bytes.h"
#include "kms_envelope/local/local_key_provider.h"
#include "kms_envelope/local/local_key_store.h"
#include "nlohmann/json.hpp"
#include "tests/reliability/child_process.h"

namespace kms_envelope {
namespace reliability {
namespace {

using json = nlohmann::json;

constexpr int kMinKills = 200;
constexpr int kTargetKills = 240;
// The loop ends at kTargetKills (~35 s here); the budget only matters on a slow or busy machine
// (a CI runner, sanitizer builds next door) and stays far below the large-test timeout (900 s).
constexpr double kTimeBudgetSeconds = 300;

struct SealedDataKey {
  std::string key_id;
  std::string blob;
  SecretBytes plaintext;
};

struct Acknowledged {
  std::map<std::string, std::set<std::string>> versions;  // key id -> acknowledged versions
  std::map<std::string, std::string> aliases;              // alias -> key id
  std::vector<SealedDataKey> data_keys;
};

std::unique_ptr<local::LocalKeyStore> OpenStore(const std::string& home, absl::Status* status) {
  local::LocalKeyStoreOptions options;
  options.directory = home;
  auto store = local::LocalKeyStore::Open(options);
  if (!store.ok()) {
    *status = store.status();
    return nullptr;
  }
  return *std::move(store);
}

// The first complete JSON line of a child's stdout, or null.
json Acknowledgement(const std::string& out) {
  size_t end = out.find('\n');
  if (end == std::string::npos) return nullptr;
  json j = json::parse(out.substr(0, end), nullptr, false);
  return j.is_discarded() ? json(nullptr) : j;
}

void Verify(const std::string& home, const Acknowledged& ack, const std::string& when) {
  SCOPED_TRACE(when);
  absl::Status status;
  std::unique_ptr<local::LocalKeyStore> store = OpenStore(home, &status);
  ASSERT_NE(store, nullptr) << "the store no longer opens: " << status;
  auto keys = store->ListKeys();
  ASSERT_TRUE(keys.ok()) << keys.status();
  std::map<std::string, std::set<std::string>> present;
  for (const auto& k : *keys) {
    present[k.key_id].insert(k.key_version_ids.begin(), k.key_version_ids.end());
    EXPECT_TRUE(present[k.key_id].count(k.primary_key_version)) << k.key_id;
  }
  for (const auto& [key_id, versions] : ack.versions) {
    auto it = present.find(key_id);
    ASSERT_NE(it, present.end()) << "acknowledged CMK " << key_id << " is missing";
    for (const std::string& v : versions) {
      EXPECT_TRUE(it->second.count(v)) << "acknowledged version " << v << " of " << key_id
                                       << " is missing";
    }
  }
  auto aliases = store->ListAliases();
  ASSERT_TRUE(aliases.ok()) << aliases.status();
  std::map<std::string, std::string> alias_map;
  for (const auto& a : *aliases) alias_map[a.alias_name] = a.key_id;
  for (const auto& [name, key_id] : ack.aliases) {
    auto it = alias_map.find(name);
    ASSERT_NE(it, alias_map.end()) << "acknowledged alias " << name << " is missing";
    EXPECT_EQ(it->second, key_id) << name;
  }
}

TEST(KeyStoreCrashSafety, SurvivesHundredsOfSigkillsDuringCreateRotateAndAlias) {
  const std::string home = FreshDir("kill_store");
  const std::string cli = CliPath();
  std::mt19937_64 rng(std::random_device{}());
  Acknowledged ack;
  std::vector<std::string> acked_keys;

  auto run = [&](std::vector<std::string> args, int64_t kill_after_us) {
    std::vector<std::string> argv = {cli, "--home", home};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildOptions options;
    options.kill_after_us = kill_after_us;
    return RunChild(argv, options);
  };

  // Calibrate: how long an uninterrupted command takes here (fsync-bound), so the kill points
  // spread over the whole command, not only its start.
  double longest = 0;
  for (int i = 0; i < 3; ++i) {
    ChildResult r = run({"key", "create", "--description", "calibration"}, -1);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json j = Acknowledgement(r.out);
    ASSERT_TRUE(j.contains("KeyMetadata")) << r.out;
    const std::string id = j["KeyMetadata"]["KeyId"];
    ack.versions[id].insert(j["KeyMetadata"]["PrimaryKeyVersion"].get<std::string>());
    acked_keys.push_back(id);
    longest = std::max(longest, r.seconds);
  }
  const int64_t max_delay_us = static_cast<int64_t>(longest * 1.2e6) + 1000;

  int kills = 0, completed = 0, runs = 0, alias_counter = 0;
  int acked_creates = 0, acked_rotations = 0, acked_aliases = 0;
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  while (kills < kTargetKills && elapsed() < kTimeBudgetSeconds) {
    const int choice = static_cast<int>(rng() % 100);
    const std::string& target = acked_keys[rng() % acked_keys.size()];
    std::vector<std::string> args;
    enum { kCreate, kRotate, kAlias } op;
    std::string alias;
    if (choice < 40) {
      op = kCreate;
      args = {"key", "create", "--description", "kill test"};
    } else if (choice < 75) {
      op = kRotate;
      args = {"key", "rotate", "--key-id", target};
    } else {
      op = kAlias;
      alias = "alias/kill-" + std::to_string(alias_counter++);
      args = {"alias", "create", "--alias-name", alias, "--key-id", target};
    }
    const int64_t delay = static_cast<int64_t>(rng() % static_cast<uint64_t>(max_delay_us));
    ChildResult r = run(args, delay);
    ++runs;
    if (r.killed) {
      ++kills;
    } else {
      ++completed;
      ASSERT_EQ(r.exit_code, 0) << "an uninterrupted command failed: " << r.err;
    }
    json j = Acknowledgement(r.out);
    if (!j.is_null()) {
      if (op == kCreate) {
        ASSERT_TRUE(j.contains("KeyMetadata")) << r.out;
        const std::string id = j["KeyMetadata"]["KeyId"];
        ack.versions[id].insert(j["KeyMetadata"]["PrimaryKeyVersion"].get<std::string>());
        acked_keys.push_back(id);
        ++acked_creates;
        // A data key under the new CMK, kept to the end: its material must never change.
        if (acked_creates % 10 == 1) {
          absl::Status status;
          auto store = OpenStore(home, &status);
          ASSERT_NE(store, nullptr) << status;
          auto provider = local::LocalKeyProvider::New(std::move(store));
          ASSERT_TRUE(provider.ok()) << provider.status();
          GenerateDataKeyRequest req;
          req.key_id = id;
          auto dk = (*provider)->GenerateDataKey(req);
          ASSERT_TRUE(dk.ok()) << dk.status();
          ack.data_keys.push_back({id, dk->ciphertext_blob, std::move(dk->plaintext)});
        }
      } else if (op == kRotate) {
        ASSERT_TRUE(j.contains("KeyVersion")) << r.out;
        ack.versions[target].insert(j["KeyVersion"]["KeyVersionId"].get<std::string>());
        ++acked_rotations;
      } else {
        ASSERT_TRUE(j.contains("RequestId")) << r.out;
        ack.aliases[alias] = target;
        ++acked_aliases;
      }
    }
    if (runs % 40 == 0) {
      Verify(home, ack, "after run " + std::to_string(runs));
      if (HasFatalFailure()) return;
    }
  }
  Verify(home, ack, "at the end");
  if (HasFatalFailure()) return;

  // Data keys generated along the way still decrypt to the same bytes.
  absl::Status status;
  auto store = OpenStore(home, &status);
  ASSERT_NE(store, nullptr) << status;
  auto provider = local::LocalKeyProvider::New(std::move(store));
  ASSERT_TRUE(provider.ok());
  for (const SealedDataKey& dk : ack.data_keys) {
    DecryptRequest req;
    req.ciphertext_blob = kms_envelope::testing::Bytes(dk.blob);
    auto back = (*provider)->Decrypt(req);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->key_id, dk.key_id);
    EXPECT_TRUE(back->plaintext.ConstantTimeEquals(dk.plaintext));
  }

  // The store still takes writes after all of it (the lock is not left held).
  ChildResult after = run({"key", "create"}, -1);
  EXPECT_EQ(after.exit_code, 0) << after.err;

  int leftover = 0;
  // The store and root key are written as unnamed (O_TMPFILE) files, so a kill mid-write leaves
  // nothing; only a kill in the microseconds between link and rename can leave a hidden complete
  // copy of the store (`.keystore.bin.kmse-tmp-*`). Older versions left `*.tmp.*` files.
  for (const std::string& name : ListDir(home)) {
    leftover += name.find(".tmp.") != std::string::npos || name.find("kmse-tmp") != std::string::npos;
    EXPECT_EQ(name.find("root.key."), std::string::npos) << "a spare root key copy: " << name;
  }
  std::printf("kills=%d completed=%d runs=%d acked: creates=%d rotations=%d aliases=%d "
              "data_keys=%zu leftover_temp_files=%d elapsed=%.1fs max_delay=%.0fms\n",
              kills, completed, runs, acked_creates, acked_rotations, acked_aliases,
              ack.data_keys.size(), leftover, elapsed(), max_delay_us / 1e3);
  RecordProperty("kills", kills);
  RecordProperty("leftover_temp_files", leftover);
  EXPECT_GE(kills, kMinKills) << "too few kills in the time budget";
}

}  // namespace
}  // namespace reliability
}  // namespace kms_envelope
