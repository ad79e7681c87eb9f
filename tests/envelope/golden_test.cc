// Golden messages (tests/vectors/): sealed once by tests/vectors/generate_golden.cc under a
// checked-in, test-only local key store. Every future version must still open them.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "gtest/gtest.h"
#include "kms_envelope/envelope/envelope.h"
#include "kms_envelope/envelope/format.h"
#include "kms_envelope/testing/test_bytes.h"
#include "tests/envelope/envelope_test_util.h"

namespace kms_envelope {
namespace envelope {
namespace {

using envelope_test::ReadFile;

constexpr char kVectors[] = "tests/vectors";

class GoldenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    manifest_ = nlohmann::json::parse(ReadFile(std::string(kVectors) + "/manifest.json"), nullptr,
                                      /*allow_exceptions=*/false);
    ASSERT_FALSE(manifest_.is_discarded()) << "manifest.json missing or invalid";
    // The store may write (locks, caches): open a copy.
    const std::string store = envelope_test::TempPath("golden_store");
    std::filesystem::remove_all(store);
    std::filesystem::copy(std::string(kVectors) + "/" + manifest_["key_store"].get<std::string>(),
                          store, std::filesystem::copy_options::recursive);
    auto kms = envelope_test::OpenTestKmsAt(store);
    ASSERT_TRUE(kms.ok()) << kms.status();
    kms_ = *std::move(kms);
  }
  nlohmann::json manifest_;
  envelope_test::TestKms kms_;
};

TEST_F(GoldenTest, EveryGoldenMessageOpensToItsPlaintext) {
  const auto& vectors = manifest_["vectors"];
  ASSERT_EQ(vectors.size(), 12u) << "2 suites x 6 sizes";
  auto context = EncryptionContext::FromJson(manifest_["encryption_context"].dump());
  ASSERT_TRUE(context.ok());
  EnvelopeOptions o;
  o.decrypt_providers = {kms_.provider};
  o.allowed_key_ids = {manifest_["key_id"].get<std::string>()};
  auto env = *Envelope::New(std::move(o));
  for (const auto& v : vectors) {
    const std::string name = v["sealed"];
    const std::string sealed = ReadFile(std::string(kVectors) + "/" + name);
    const std::string plaintext = ReadFile(std::string(kVectors) + "/" + v["plaintext"].get<std::string>());
    ASSERT_EQ(plaintext.size(), v["size"].get<size_t>()) << name;
    EXPECT_EQ(plaintext, envelope_test::TestPlaintext(plaintext.size())) << name;
    auto parsed = ParseHeader(kms_envelope::testing::Bytes(sealed));
    ASSERT_TRUE(parsed.ok()) << name;
    EXPECT_EQ(SuiteName(parsed->header.suite), v["suite"].get<std::string>());
    EXPECT_EQ(parsed->header.frame_size, 4096u);
    auto opened = env->Open(sealed, *context);
    ASSERT_TRUE(opened.ok()) << name << ": " << opened.status();
    EXPECT_EQ(*opened, plaintext) << name;
    // And a flipped last byte is refused (the vectors are not accepted blindly).
    std::string bad = sealed;
    bad.back() ^= 1;
    EXPECT_FALSE(env->Open(bad, *context).ok()) << name;
  }
}

}  // namespace
}  // namespace envelope
}  // namespace kms_envelope
