// Crash safety of `kms-envelope encrypt` and `decrypt ... -o out` under SIGKILL at random points:
// after every kill the output path either does not exist, still holds exactly what it held
// before (when it existed), or holds a complete, correct result (a sealed file that opens to
// the input; a plaintext equal to the input). A file that looks complete but is not is never
// left behind. Rerunning after a kill completes. Temp files left by the kills are counted.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kms_envelope/envelope/envelope.h"
#include "kms_envelope/local/local_key_provider.h"
#include "kms_envelope/local/local_key_store.h"
#include "nlohmann/json.hpp"
#include "tests/reliability/child_process.h"

namespace kms_envelope {
namespace reliability {
namespace {

constexpr int kKillsPerCommand = 110;
// Per command. The loop ends at kKillsPerCommand (~30 s here); the budget only matters on a slow
// or busy machine and keeps both commands far below the large-test timeout (900 s).
constexpr double kTimeBudgetSeconds = 240;
constexpr size_t kInputSize = 3 << 20;
const char kOldContent[] = "previous content of the output path";

class FileCrashSafety : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = FreshDir("file_kill_home");
    work_ = FreshDir("file_kill_work");
    input_ = work_ + "/input.bin";
    std::mt19937_64 rng(42);
    std::string data(kInputSize, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    input_bytes_ = data;
    FILE* f = std::fopen(input_.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(std::fwrite(data.data(), 1, data.size(), f), data.size());
    std::fclose(f);
    ChildResult r = Cli({"key", "create"}, -1);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    key_id_ = nlohmann::json::parse(r.out)["KeyMetadata"]["KeyId"];
    local::LocalKeyStoreOptions options;
    options.directory = home_;
    auto store = local::LocalKeyStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    auto provider = local::LocalKeyProvider::New(std::move(*store));
    ASSERT_TRUE(provider.ok());
    envelope::EnvelopeOptions eo;
    eo.decrypt_providers = {std::shared_ptr<KeyProvider>(std::move(*provider))};
    auto env = envelope::Envelope::New(std::move(eo));
    ASSERT_TRUE(env.ok());
    opener_ = std::move(*env);
  }

  ChildResult Cli(std::vector<std::string> args, int64_t kill_after_us) {
    std::vector<std::string> argv = {CliPath(), "--home", home_};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildOptions options;
    options.kill_after_us = kill_after_us;
    return RunChild(argv, options);
  }

  bool SealedOpensToInput(const std::string& sealed) {
    auto opened = opener_->Open(sealed, EncryptionContext::Empty());
    return opened.ok() && *opened == input_bytes_;
  }

  // Hidden files a killed run left in the output directory. Outputs are written as unnamed
  // (O_TMPFILE) files, so a kill mid-write leaves none; only a kill in the microseconds between
  // link and rename over a previous output can leave a hidden name, and that file is complete.
  // `complete` checks each; returns how many there were.
  int CheckLeftovers(const std::function<bool(const std::string&)>& complete, const char* what) {
    int n = 0;
    for (const std::string& name : ListDir(work_)) {
      if (name.find("kmse-") == std::string::npos) continue;
      ++n;
      EXPECT_TRUE(complete(ReadFileOrEmpty(work_ + "/" + name)))
          << what << ": a partial output was left behind as " << name;
    }
    return n;
  }

  // Kills `args` (which write `output`) at random points; checks the output after each kill.
  // `complete` says whether bytes are a complete, correct output.
  void KillRepeatedly(const std::vector<std::string>& args, const std::string& output,
                      const std::function<bool(const std::string&)>& complete,
                      const char* what) {
    std::mt19937_64 rng(std::random_device{}());
    ::unlink(output.c_str());
    ChildResult calib = Cli(args, -1);
    ASSERT_EQ(calib.exit_code, 0) << calib.err;
    ASSERT_TRUE(complete(ReadFileOrEmpty(output)));
    const int64_t max_delay_us = static_cast<int64_t>(calib.seconds * 1.2e6) + 1000;
    int kills = 0, runs = 0, absent = 0, old_kept = 0, complete_outputs = 0;
    const auto start = std::chrono::steady_clock::now();
    while (kills < kKillsPerCommand &&
           std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() <
               kTimeBudgetSeconds) {
      const bool preexisting = rng() % 2 == 0;
      if (preexisting) {
        FILE* f = std::fopen(output.c_str(), "wb");
        ASSERT_NE(f, nullptr);
        std::fputs(kOldContent, f);
        std::fclose(f);
      } else {
        ::unlink(output.c_str());
      }
      ChildResult r = Cli(args, static_cast<int64_t>(rng() % static_cast<uint64_t>(max_delay_us)));
      ++runs;
      if (!r.killed) {
        ASSERT_EQ(r.exit_code, 0) << r.err;
        ASSERT_TRUE(complete(ReadFileOrEmpty(output))) << what << ": completed run, bad output";
        continue;
      }
      ++kills;
      if (!FileExists(output)) {
        ASSERT_FALSE(preexisting) << what << ": a kill removed the previous output";
        ++absent;
        continue;
      }
      const std::string bytes = ReadFileOrEmpty(output);
      if (preexisting && bytes == kOldContent) {
        ++old_kept;
        continue;
      }
      ASSERT_TRUE(complete(bytes)) << what << ": after a kill at run " << runs << " the output ("
                                   << bytes.size() << " bytes) is neither absent, the old file "
                                   << "nor a complete result";
      ++complete_outputs;
      // Rerunning after a kill completes.
      if (kills % 10 == 0) {
        ChildResult again = Cli(args, -1);
        ASSERT_EQ(again.exit_code, 0) << again.err;
        ASSERT_TRUE(complete(ReadFileOrEmpty(output)));
      }
    }
    ChildResult again = Cli(args, -1);
    ASSERT_EQ(again.exit_code, 0) << again.err;
    ASSERT_TRUE(complete(ReadFileOrEmpty(output)));
    std::printf("%s: kills=%d runs=%d after-kill: absent=%d old_kept=%d complete=%d "
                "leftover_hidden_files=%d (each checked complete) max_delay=%.0fms\n",
                what, kills, runs, absent, old_kept, complete_outputs,
                CheckLeftovers(complete, what),
                max_delay_us / 1e3);
    RecordProperty(std::string(what) + "_kills", kills);
    EXPECT_GE(kills, 100) << what << ": too few kills in the time budget";
  }

  std::string home_, work_, input_, input_bytes_, key_id_;
  std::unique_ptr<envelope::Envelope> opener_;
};

TEST_F(FileCrashSafety, KilledEncryptNeverLeavesAPlausibleButIncompleteOutput) {
  const std::string out = work_ + "/sealed.kmse";
  KillRepeatedly({"encrypt", input_, "-o", out, "--key-id", key_id_, "--frame-size", "4096"}, out,
                 [&](const std::string& b) { return SealedOpensToInput(b); }, "encrypt");
}

TEST_F(FileCrashSafety, KilledDecryptNeverLeavesAPlausibleButIncompleteOutput) {
  const std::string sealed = work_ + "/source.kmse";
  ChildResult r = Cli({"encrypt", input_, "-o", sealed, "--key-id", key_id_, "--frame-size",
                       "4096"}, -1);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string out = work_ + "/plain.bin";
  KillRepeatedly({"decrypt", sealed, "-o", out}, out,
                 [&](const std::string& b) { return b == input_bytes_; }, "decrypt");
}

}  // namespace
}  // namespace reliability
}  // namespace kms_envelope
