// Runs the real kms-envelope binary (a data dependency) against a store under TEST_TMPDIR.
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "gtest/gtest.h"
#include "kms_envelope/local/wrap_counter.h"
#include "tests/local/test_util.h"

namespace kms_envelope {
namespace local {
namespace {

using json = nlohmann::json;

constexpr char kBinary[] = "kms_envelope/cli/kms-envelope";

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
  json out_json() const { return json::parse(out, nullptr, false); }
  json err_json() const { return json::parse(err, nullptr, false); }
};

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') q += "'\\''";
    else q += c;
  }
  return q + "'";
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class KeyCli : public ::testing::Test {
 protected:
  void SetUp() override { home_ = testing::TestDir("cli_home"); }

  Result Run(const std::string& args, const std::string& extra_global = "") {
    const std::string err_path = home_ + ".stderr";
    const std::string cmd = std::string(kBinary) + " --home " + Quote(home_) + " " + extra_global +
                            " " + args + " 2>" + Quote(err_path);
    Result r;
    FILE* pipe = ::popen(cmd.c_str(), "r");
    EXPECT_NE(pipe, nullptr);
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) r.out.append(buf, n);
    int status = ::pclose(pipe);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.err = Slurp(err_path);
    return r;
  }

  std::string CreateKey(const std::string& description = "") {
    Result r = Run("key create --description " + Quote(description));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    json j = r.out_json();
    return j["KeyMetadata"]["KeyId"].get<std::string>();
  }

  void ExpectError(const Result& r, const std::string& code) {
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    json e = r.err_json();
    ASSERT_FALSE(e.is_discarded()) << r.err;
    EXPECT_EQ(e["Code"], code) << r.err;
    EXPECT_TRUE(e["Message"].is_string());
    EXPECT_TRUE(r.out.empty()) << r.out;
  }

  std::string home_;
};

TEST_F(KeyCli, CreatesDescribesAndListsKeysInTheApiShapes) {
  Result created = Run("key create --description backups");
  ASSERT_EQ(created.exit_code, 0) << created.err;
  json meta = created.out_json()["KeyMetadata"];
  EXPECT_EQ(meta["Description"], "backups");
  EXPECT_EQ(meta["KeyState"], "Enabled");
  EXPECT_EQ(meta["KeySpec"], "Aliyun_AES_256");
  const std::string id = meta["KeyId"];
  Result described = Run("key describe --key-id " + id);
  ASSERT_EQ(described.exit_code, 0) << described.err;
  EXPECT_EQ(described.out_json()["KeyMetadata"]["KeyId"], id);
  const std::string second = CreateKey();
  Result listed = Run("key list");
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  json keys = listed.out_json()["Keys"]["Key"];
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0]["KeyId"], id);
  EXPECT_EQ(keys[0]["KeyArn"], "acs:kms:local:0:key/" + id);
  EXPECT_EQ(keys[1]["KeyId"], second);
}

TEST_F(KeyCli, GeneratesAndDecryptsDataKeysThroughAliasesAndContexts) {
  const std::string id = CreateKey();
  ASSERT_EQ(Run("alias create --alias-name alias/cli --key-id " + id).exit_code, 0);
  Result aliases = Run("alias list --key-id " + id);
  ASSERT_EQ(aliases.exit_code, 0) << aliases.err;
  EXPECT_EQ(aliases.out_json()["Aliases"]["Alias"][0]["AliasName"], "alias/cli");

  Result dk = Run("datakey generate --key-id alias/cli --encryption-context " +
                  Quote(R"({"tenant":"t1"})"));
  ASSERT_EQ(dk.exit_code, 0) << dk.err;
  json j = dk.out_json();
  ASSERT_FALSE(j.is_discarded()) << dk.out;
  EXPECT_EQ(j["KeyId"], id);
  EXPECT_EQ(j["Plaintext"].get<std::string>().size(), 44u);  // base64 of 32 bytes
  EXPECT_EQ(j["CiphertextBlob"].get<std::string>().size(), 144u);  // base64 of 108 bytes
  EXPECT_EQ(j["RequestId"].get<std::string>().size(), 36u);
  const std::string blob = j["CiphertextBlob"];

  Result back = Run("datakey decrypt --ciphertext-blob " + Quote(blob) +
                    " --encryption-context " + Quote(R"({ "tenant" : "t1" })"));
  ASSERT_EQ(back.exit_code, 0) << back.err;
  EXPECT_EQ(back.out_json()["Plaintext"], j["Plaintext"]);
  EXPECT_EQ(back.out_json()["KeyVersionId"], j["KeyVersionId"]);

  ExpectError(Run("datakey decrypt --ciphertext-blob " + Quote(blob)), "InvalidCiphertext");

  Result small = Run("datakey generate --key-id " + id + " --key-spec AES_128");
  ASSERT_EQ(small.exit_code, 0) << small.err;
  EXPECT_EQ(small.out_json()["Plaintext"].get<std::string>().size(), 24u);
  Result bytes = Run("datakey generate --key-id " + id + " --key-spec AES_128 --number-of-bytes 1024");
  ASSERT_EQ(bytes.exit_code, 0) << bytes.err;
  EXPECT_EQ(bytes.out_json()["Plaintext"].get<std::string>().size(), 1368u);
}

TEST_F(KeyCli, ReportsBadInputAsErrorJsonWithANonZeroExit) {
  const std::string id = CreateKey();
  ExpectError(Run("datakey generate --key-id " + id + " --number-of-bytes 1025"),
              "InvalidParameter");
  ExpectError(Run("datakey generate --key-id " + id + " --number-of-bytes 0"), "InvalidParameter");
  ExpectError(Run("datakey generate --key-id " + id + " --key-spec AES_512"), "InvalidParameter");
  ExpectError(Run("datakey generate --key-id alias/missing"), "Forbidden.AliasNotFound");
  ExpectError(Run("key describe --key-id 0b8a6b4f-1c2d-4e5f-8a9b-0c1d2e3f4a5b"),
              "Forbidden.KeyNotFound");
  ExpectError(Run("datakey decrypt --ciphertext-blob not-base64!"), "InvalidCiphertext");
  ExpectError(Run("datakey decrypt --ciphertext-blob QUJD"), "InvalidCiphertext");
  ExpectError(Run("datakey generate --key-id " + id + " --encryption-context " + Quote("[1]")),
              "InvalidParameter");
  ExpectError(Run("alias create --alias-name bad --key-id " + id), "InvalidParameter");
  ASSERT_EQ(Run("alias create --alias-name alias/x --key-id " + id).exit_code, 0);
  ExpectError(Run("alias create --alias-name alias/x --key-id " + id),
              "Rejected.AliasAlreadyExists");
  ExpectError(Run("key schedule-deletion --key-id " + id + " --pending-window-in-days 6"),
              "InvalidParameter");
  // A malformed command line is a usage error (exit 2).
  EXPECT_EQ(Run("key describe").exit_code, 2);
}

TEST_F(KeyCli, StateCommandsFollowTheServiceRules) {
  const std::string id = CreateKey();
  Result dk = Run("datakey generate --key-id " + id);
  ASSERT_EQ(dk.exit_code, 0);
  const std::string blob = dk.out_json()["CiphertextBlob"];
  Result disabled = Run("key disable --key-id " + id);
  ASSERT_EQ(disabled.exit_code, 0) << disabled.err;
  EXPECT_EQ(disabled.out_json()["KeyMetadata"]["KeyState"], "Disabled");
  ExpectError(Run("datakey generate --key-id " + id), "Rejected.Disabled");
  ExpectError(Run("datakey decrypt --ciphertext-blob " + Quote(blob)), "Rejected.Disabled");
  ASSERT_EQ(Run("key enable --key-id " + id).exit_code, 0);
  Result rotated = Run("key rotate --key-id " + id);
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  const std::string v2 = rotated.out_json()["KeyVersion"]["KeyVersionId"];
  EXPECT_EQ(Run("datakey generate --key-id " + id).out_json()["KeyVersionId"], v2);
  EXPECT_EQ(Run("datakey decrypt --ciphertext-blob " + Quote(blob)).exit_code, 0);
  Result pending = Run("key schedule-deletion --key-id " + id + " --pending-window-in-days 7");
  ASSERT_EQ(pending.exit_code, 0) << pending.err;
  EXPECT_EQ(pending.out_json()["KeyMetadata"]["KeyState"], "PendingDeletion");
  EXPECT_TRUE(pending.out_json()["KeyMetadata"]["DeleteDate"].is_string());
  ExpectError(Run("key enable --key-id " + id), "Rejected.StateModifiedFailed");
  ExpectError(Run("datakey generate --key-id " + id), "Rejected.PendingDeletion");
  // Its DeleteDate is a week away: purge-deleted destroys nothing yet (the store test drives
  // the clock past it).
  Result purge = Run("key purge-deleted");
  ASSERT_EQ(purge.exit_code, 0) << purge.err;
  EXPECT_EQ(purge.out_json()["PurgedKeyIds"], json::array());
  EXPECT_EQ(Run("key describe --key-id " + id).out_json()["KeyMetadata"]["KeyState"],
            "PendingDeletion");
  Result cancelled = Run("key cancel-deletion --key-id " + id);
  ASSERT_EQ(cancelled.exit_code, 0) << cancelled.err;
  EXPECT_EQ(cancelled.out_json()["KeyMetadata"]["KeyState"], "Enabled");
}

TEST_F(KeyCli, TwoProcessesCreatingKeysConcurrentlyBothPersist) {
  ASSERT_NE(CreateKey(), "");
  const std::string loop = "for i in 1 2 3 4 5 6 7 8; do " + std::string(kBinary) + " --home " +
                           Quote(home_) + " key create >/dev/null || exit 1; done";
  const std::string cmd = "(" + loop + ") & p1=$!; (" + loop + ") & p2=$!; wait $p1 && wait $p2";
  ASSERT_EQ(std::system(("bash -c " + Quote(cmd)).c_str()), 0);
  Result listed = Run("key list");
  ASSERT_EQ(listed.exit_code, 0);
  json keys = listed.out_json()["Keys"]["Key"];
  std::set<std::string> ids;
  for (const auto& k : keys) ids.insert(k["KeyId"].get<std::string>());
  EXPECT_EQ(ids.size(), 17u);
}

TEST_F(KeyCli, PassphraseFileProtectsTheStore) {
  const std::string pass = home_ + ".pass";
  { std::ofstream(pass) << "open sesame\n"; }
  Result created = Run("key create", "--passphrase-file " + Quote(pass));
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string id = created.out_json()["KeyMetadata"]["KeyId"];
  EXPECT_EQ(Run("key describe --key-id " + id, "--passphrase-file " + Quote(pass)).exit_code, 0);
  EXPECT_EQ(Run("key describe --key-id " + id).exit_code, 1);
  { std::ofstream(pass) << "open sesamE\n"; }
  EXPECT_EQ(Run("key describe --key-id " + id, "--passphrase-file " + Quote(pass)).exit_code, 1);
}

TEST_F(KeyCli, PassphraseFileLosesOneTrailingLfThenOneTrailingCrAndNothingElse) {
  const std::string pass = home_ + ".pass";
  auto with = [&](const std::string& bytes) {
    { std::ofstream(pass, std::ios::binary | std::ios::trunc) << bytes; }
    return "--passphrase-file " + Quote(pass);
  };
  Result created = Run("key create", with("pw"));
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string describe = "key describe --key-id " +
                               created.out_json()["KeyMetadata"]["KeyId"].get<std::string>();
  for (const char* same : {"pw\n", "pw\r\n", "pw\r"}) {
    EXPECT_EQ(Run(describe, with(same)).exit_code, 0) << "should be the passphrase pw";
  }
  for (const char* other : {"pw\n\n", "pw\r\r", " pw"}) {
    EXPECT_EQ(Run(describe, with(other)).exit_code, 1) << "must not be the passphrase pw";
  }
}

TEST_F(KeyCli, DescribeShowsTheRotationPolicyAndThePrimaryVersionsWrapCount) {
  Result created = Run("key create");
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const json meta = created.out_json()["KeyMetadata"];
  EXPECT_EQ(meta["AutomaticRotation"], "Enabled");
  EXPECT_EQ(meta["PrimaryKeyVersionWrapCount"], 0);
  const std::string id = meta["KeyId"];
  const std::string plain = home_ + ".plain";
  { std::ofstream(plain) << "counted"; }
  ASSERT_EQ(Run("encrypt --key-id " + id + " -o " + Quote(home_ + ".kmse") + " " + Quote(plain) +
                " >/dev/null")
                .exit_code,
            0);
  // One process, one wrap: it reserved its first range.
  EXPECT_EQ(Run("key describe --key-id " + id).out_json()["KeyMetadata"]
                ["PrimaryKeyVersionWrapCount"],
            kFirstWrapReservation);
}

}  // namespace
}  // namespace local
}  // namespace kms_envelope
