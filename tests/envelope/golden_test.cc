// Golden messages (tests/vectors/ for format v1, tests/vectors/v2/ for v2): sealed once by tests/vectors/generate_golden.cc under a
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

// One directory per format version; every version ever written must still open.
class GoldenTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    vectors_dir_ = GetParam();
    manifest_ = nlohmann::json::parse(ReadFile(std::string(vectors_dir_) + "/manifest.json"), nullptr,
                                      /*allow_exceptions=*/false);
    ASSERT_FALSE(manifest_.is_discarded()) << "manifest.json missing or invalid";
    // The store may write (locks, caches): open a copy.
    const std::string store = envelope_test::TempPath("golden_store");
    std::filesystem::remove_all(store);
    std::filesystem::copy(std::string(vectors_dir_) + "/" + manifest_["key_store"].get<std::string>(),
                          store, std::filesystem::copy_options::recursive);
    auto kms = envelope_test::OpenTestKmsAt(store);
    ASSERT_TRUE(kms.ok()) << kms.status();
    kms_ = *std::move(kms);
  }
  std::string vectors_dir_;
  nlohmann::json manifest_;
  envelope_test::TestKms kms_;
};

INSTANTIATE_TEST_SUITE_P(FormatVersions, GoldenTest,
                         ::testing::Values("tests/vectors", "tests/vectors/v2"));

TEST_P(GoldenTest, EveryGoldenMessageOpensToItsPlaintext) {
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
    const std::string sealed = ReadFile(std::string(vectors_dir_) + "/" + name);
    const std::string plaintext =
        ReadFile(std::string(vectors_dir_) + "/" + v["plaintext"].get<std::string>());
    ASSERT_EQ(plaintext.size(), v["size"].get<size_t>()) << name;
    EXPECT_EQ(plaintext, envelope_test::TestPlaintext(plaintext.size())) << name;
    auto parsed = ParseHeader(kms_envelope::testing::Bytes(sealed));
    ASSERT_TRUE(parsed.ok()) << name;
    EXPECT_EQ(SuiteName(parsed->header.suite), v["suite"].get<std::string>());
    EXPECT_EQ(parsed->header.frame_size, 4096u);
    EXPECT_EQ(parsed->header.version, manifest_["format_version"].get<int>()) << name;
    auto opened = env->Open(sealed, *context);
    ASSERT_TRUE(opened.ok()) << name << ": " << opened.status();
    EXPECT_EQ(*opened, plaintext) << name;
    // And a flipped last byte is refused (the vectors are not accepted blindly).
    std::string bad = sealed;
    bad.back() ^= 1;
    EXPECT_FALSE(env->Open(bad, *context).ok()) << name;
  }
}

TEST_P(GoldenTest, RewrappingAGoldenMessageKeepsItsFormatVersionAndItStillOpens) {
  auto context = EncryptionContext::FromJson(manifest_["encryption_context"].dump());
  ASSERT_TRUE(context.ok());
  EnvelopeOptions o;
  o.primary = {kms_.provider, manifest_["key_id"].get<std::string>()};
  o.decrypt_providers = {kms_.provider};
  auto env = *Envelope::New(std::move(o));
  for (const auto& v : manifest_["vectors"]) {
    const std::string sealed = ReadFile(std::string(vectors_dir_) + "/" + v["sealed"].get<std::string>());
    size_t old_header_size = 0;
    auto header = env->RewrapHeader(kms_envelope::testing::Bytes(sealed), &*context, &old_header_size);
    ASSERT_TRUE(header.ok()) << header.status();
    const std::string rewrapped = *header + sealed.substr(old_header_size);
    EXPECT_NE(rewrapped, sealed) << "a new CiphertextBlob and header tag";
    EXPECT_EQ(rewrapped[4], sealed[4]) << "format version kept";
    auto opened = env->Open(rewrapped, *context);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(opened->size(), v["size"].get<size_t>());
  }
}

}  // namespace
}  // namespace envelope
}  // namespace kms_envelope
