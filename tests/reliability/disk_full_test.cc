// Disk full: the CLI runs with RLIMIT_FSIZE below what it needs to write (SIGXFSZ ignored, so
// write() fails with EFBIG as it would with ENOSPC on a full disk). Each command must fail with
// a clear JSON error and a non-zero exit, leave the previous store / output byte-for-byte intact
// and leave no temp file behind; without the limit the same command then succeeds.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kms_envelope/local/local_key_store.h"
#include "nlohmann/json.hpp"
#include "tests/reliability/child_process.h"

namespace kms_envelope {
namespace reliability {
namespace {

using json = nlohmann::json;

ChildResult Cli(const std::string& home, std::vector<std::string> args,
                rlim_t limit = RLIM_INFINITY) {
  std::vector<std::string> argv = {CliPath(), "--home", home};
  argv.insert(argv.end(), args.begin(), args.end());
  ChildOptions options;
  options.file_size_limit = limit;
  return RunChild(argv, options);
}

// The error JSON the CLI prints on stderr: {"Code":..., "Message":...}.
void ExpectClearError(const ChildResult& r) {
  EXPECT_EQ(r.exit_code, 1) << r.err;
  json err = json::parse(r.err.substr(0, r.err.find('\n')), nullptr, false);
  ASSERT_FALSE(err.is_discarded()) << "stderr is not the JSON error: " << r.err;
  EXPECT_TRUE(err.contains("Code")) << r.err;
  ASSERT_TRUE(err.contains("Message")) << r.err;
  const std::string message = err["Message"];
  EXPECT_NE(message.find("too large"), std::string::npos)
      << "the message should say why (EFBIG/ENOSPC): " << message;
}

TEST(DiskFull, KeyCreateFailsClearlyAndLeavesTheStoreIntact) {
  const std::string home = FreshDir("disk_full_store");
  const std::string big(4000, 'd');
  for (int i = 0; i < 5; ++i) {
    ChildResult r = Cli(home, {"key", "create", "--description", big});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  const std::string store_path = home + "/keystore.bin";
  const std::string before = ReadFileOrEmpty(store_path);
  const std::vector<std::string> files_before = ListDir(home);
  ASSERT_GT(before.size(), 5 * big.size());

  // The new store file is ~4 KiB larger than the current one: allow only the current size.
  ChildResult r = Cli(home, {"key", "create", "--description", big}, before.size());
  ExpectClearError(r);
  EXPECT_EQ(ReadFileOrEmpty(store_path), before) << "the store changed";
  EXPECT_EQ(ListDir(home), files_before) << "a temp file was left behind";
  local::LocalKeyStoreOptions options;
  options.directory = home;
  auto store = local::LocalKeyStore::Open(options);
  ASSERT_TRUE(store.ok()) << store.status();
  auto keys = (*store)->ListKeys();
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->size(), 5u);

  // Same for a rotation and an alias (smaller growth: limit just below the new size).
  ChildResult rot = Cli(home, {"key", "rotate", "--key-id", (*keys)[0].key_id}, before.size());
  ExpectClearError(rot);
  EXPECT_EQ(ReadFileOrEmpty(store_path), before);

  ChildResult ok = Cli(home, {"key", "create", "--description", big});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

TEST(DiskFull, EncryptAndDecryptFailClearlyAndLeaveNoOutput) {
  const std::string home = FreshDir("disk_full_files");
  const std::string work = FreshDir("disk_full_work");
  ChildResult created = Cli(home, {"key", "create"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string key_id = json::parse(created.out)["KeyMetadata"]["KeyId"];
  const std::string input = work + "/input.bin";
  {
    FILE* f = std::fopen(input.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::string data(2 << 20, 'x');
    std::fwrite(data.data(), 1, data.size(), f);
    std::fclose(f);
  }
  const std::string sealed = work + "/sealed.kmse";
  const rlim_t limit = 1 << 20;  // half the output

  ChildResult enc = Cli(home, {"encrypt", input, "-o", sealed, "--key-id", key_id}, limit);
  ExpectClearError(enc);
  EXPECT_FALSE(FileExists(sealed));
  EXPECT_EQ(ListDir(work), std::vector<std::string>{"input.bin"}) << "a temp file was left";

  // An existing output is not touched by a failed run.
  ChildResult ok = Cli(home, {"encrypt", input, "-o", sealed, "--key-id", key_id});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  const std::string sealed_bytes = ReadFileOrEmpty(sealed);
  ChildResult again = Cli(home, {"encrypt", input, "-o", sealed, "--key-id", key_id}, limit);
  ExpectClearError(again);
  EXPECT_EQ(ReadFileOrEmpty(sealed), sealed_bytes);

  const std::string plain = work + "/plain.bin";
  ChildResult dec = Cli(home, {"decrypt", sealed, "-o", plain}, limit);
  ExpectClearError(dec);
  EXPECT_FALSE(FileExists(plain));
  EXPECT_EQ(ListDir(work), (std::vector<std::string>{"input.bin", "sealed.kmse"}))
      << "a temp file (with verified plaintext) was left";
  ChildResult dec_ok = Cli(home, {"decrypt", sealed, "-o", plain});
  ASSERT_EQ(dec_ok.exit_code, 0) << dec_ok.err;
  EXPECT_EQ(ReadFileOrEmpty(plain), ReadFileOrEmpty(input));
}

}  // namespace
}  // namespace reliability
}  // namespace kms_envelope
