// AccessPolicy parsing/limits and NonceCache expiry/capacity.
#include <gtest/gtest.h>

#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/server/access_policy.h"
#include "kms_envelope/server/nonce_cache.h"

namespace kms_envelope {
namespace server {
namespace {

TEST(AccessPolicy, ParsesKeysActionsAndCmks) {
  auto p = AccessPolicy::FromJson(R"({"AccessKeys":[
      {"AccessKeyId":"a","AccessKeySecret":"sa","Actions":["Decrypt"],"Keys":["alias/x"]},
      {"AccessKeyId":"b","AccessKeySecret":"sb","Actions":["*"],"Keys":["*"]}]})");
  ASSERT_TRUE(p.ok()) << p.status();
  const AccessKey* a = p->Find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(a->AllowsAction("Decrypt"));
  EXPECT_FALSE(a->AllowsAction("Encrypt"));
  EXPECT_FALSE(a->AllowsAllKeys());
  EXPECT_TRUE(a->access_key_secret.ConstantTimeEquals(internal::Bytes("sa")));
  EXPECT_TRUE(p->Find("b")->AllowsAction("Anything"));
  EXPECT_TRUE(p->Find("b")->AllowsAllKeys());
  EXPECT_EQ(p->Find("c"), nullptr);
}

TEST(AccessPolicy, DeniesByDefaultAndRefusesMalformedFiles) {
  auto p = AccessPolicy::FromJson(R"({"AccessKeys":[{"AccessKeyId":"a","AccessKeySecret":"s"}]})");
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->Find("a")->AllowsAction("Decrypt"));
  EXPECT_FALSE(p->Find("a")->AllowsAllKeys());
  for (const char* bad : {"", "[]", "{}", R"({"AccessKeys":{}})",
                          R"({"AccessKeys":[{"AccessKeyId":"a"}]})",
                          R"({"AccessKeys":[{"AccessKeyId":"","AccessKeySecret":"s"}]})",
                          R"({"AccessKeys":[{"AccessKeyId":"a","AccessKeySecret":"s","Actions":"*"}]})",
                          R"({"AccessKeys":[{"AccessKeyId":"a","AccessKeySecret":"s"},
                                            {"AccessKeyId":"a","AccessKeySecret":"t"}]})"}) {
    auto r = AccessPolicy::FromJson(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(std::string(r.status().message()).find("\"s\""), std::string::npos);
  }
}

TEST(NonceCache, RefusesAReusedNonceUntilItExpires) {
  NonceCache cache(10, absl::Minutes(16));
  absl::Time t0 = absl::FromUnixSeconds(1000000);
  EXPECT_EQ(cache.Insert("k\nn1", t0), NonceCache::Result::kFresh);
  EXPECT_EQ(cache.Insert("k\nn1", t0 + absl::Minutes(15)), NonceCache::Result::kReused);
  EXPECT_EQ(cache.Insert("k\nn2", t0 + absl::Minutes(15)), NonceCache::Result::kFresh);
  // After the TTL the first entry is forgotten (its timestamp is then out of the skew window).
  EXPECT_EQ(cache.Insert("k\nn1", t0 + absl::Minutes(16)), NonceCache::Result::kFresh);
  EXPECT_EQ(cache.size(), 2u);
}

TEST(NonceCache, ReportsFullRatherThanForgettingALiveNonce) {
  NonceCache cache(3, absl::Minutes(16));
  absl::Time t0 = absl::FromUnixSeconds(1000000);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(cache.Insert("n" + std::to_string(i), t0), NonceCache::Result::kFresh);
  }
  EXPECT_EQ(cache.Insert("n3", t0 + absl::Minutes(1)), NonceCache::Result::kFull);
  EXPECT_EQ(cache.Insert("n0", t0 + absl::Minutes(1)), NonceCache::Result::kReused);
  EXPECT_EQ(cache.Insert("n3", t0 + absl::Minutes(17)), NonceCache::Result::kFresh);
  EXPECT_EQ(cache.size(), 1u);
}

}  // namespace
}  // namespace server
}  // namespace kms_envelope
