// AccessPolicy parsing/limits and NonceCache expiry/capacity.
#include <gtest/gtest.h>

#include "kms_envelope/testing/test_bytes.h"
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
  EXPECT_TRUE(a->access_key_secret.ConstantTimeEquals(kms_envelope::testing::Bytes("sa")));
  EXPECT_TRUE(p->Find("b")->AllowsAction("Anything"));
  EXPECT_TRUE(p->Find("b")->AllowsAllKeys());
  EXPECT_EQ(p->Find("c"), nullptr);
}

TEST(AccessPolicy, DeniesByDefaultAndRefusesMalformedFiles) {
  auto p = AccessPolicy::FromJson(R"({"AccessKeys":[{"AccessKeyId":"a","AccessKeySecret":"s"}]})");
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->Find("a")->AllowsAction("Decrypt"));
  EXPECT_FALSE(p->Find("a")->AllowsAllKeys());
  EXPECT_TRUE(p->Find("a")->MatchesSecurityToken(""));
  EXPECT_FALSE(p->Find("a")->MatchesSecurityToken("t"));
  auto sts = AccessPolicy::FromJson(
      R"({"AccessKeys":[{"AccessKeyId":"a","AccessKeySecret":"s","SecurityToken":"tok"}]})");
  ASSERT_TRUE(sts.ok()) << sts.status();
  EXPECT_TRUE(sts->Find("a")->MatchesSecurityToken("tok"));
  EXPECT_FALSE(sts->Find("a")->MatchesSecurityToken("tok2"));
  EXPECT_FALSE(sts->Find("a")->MatchesSecurityToken(""));
  for (const char* bad : {"", "[]", "{}", R"({"AccessKeys":{}})",
                          R"({"AccessKeys":[{"AccessKeyId":"a"}]})",
                          R"({"AccessKeys":[{"AccessKeyId":"","AccessKeySecret":"s"}]})",
                          R"({"AccessKeys":[{"AccessKeyId":"a","AccessKeySecret":"s","Actions":"*"}]})",
                          R"({"AccessKeys":[{"AccessKeyId":"a","AccessKeySecret":"s","SecurityToken":1}]})",
                          // Fields that are not understood are refused, never ignored.
                          R"({"AccessKeys":[{"AccessKeyId":"a","AccessKeySecret":"s","Action":["*"]}]})",
                          R"({"AccessKeys":[],"Policies":[]})",
                          R"({"AccessKeys":[{"AccessKeyId":"a","AccessKeySecret":"s"},
                                            {"AccessKeyId":"a","AccessKeySecret":"t"}]})"}) {
    auto r = AccessPolicy::FromJson(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(std::string(r.status().message()).find("\"s\""), std::string::npos);
  }
}

TEST(NonceCache, RefusesAReusedNonceUntilItsOwnExpiry) {
  NonceCache cache(10);
  absl::Time t0 = absl::FromUnixSeconds(1000000);
  absl::Time expiry = t0 + absl::Minutes(15);
  EXPECT_EQ(cache.Insert("k", "n1", t0, expiry), NonceCache::Result::kFresh);
  EXPECT_EQ(cache.Insert("k", "n1", expiry, expiry), NonceCache::Result::kReused);  // inclusive
  EXPECT_EQ(cache.Insert("k", "n2", t0, t0 + absl::Minutes(30)), NonceCache::Result::kFresh);
  // Past its own expiry the first entry is forgotten; the later-expiring one is not.
  absl::Time later = expiry + absl::Seconds(1);
  EXPECT_EQ(cache.Insert("k", "n1", later, later + absl::Minutes(15)), NonceCache::Result::kFresh);
  EXPECT_EQ(cache.Insert("k", "n2", later, later), NonceCache::Result::kReused);
  EXPECT_EQ(cache.size("k"), 2u);
}

TEST(NonceCache, KeepsAnEarlyInsertedLateExpiringNonceBehindAnEarlierExpiringOne) {
  NonceCache cache(10);
  absl::Time t0 = absl::FromUnixSeconds(1000000);
  EXPECT_EQ(cache.Insert("k", "future", t0, t0 + absl::Minutes(29)), NonceCache::Result::kFresh);
  EXPECT_EQ(cache.Insert("k", "now", t0, t0 + absl::Minutes(15)), NonceCache::Result::kFresh);
  absl::Time t1 = t0 + absl::Minutes(16);
  EXPECT_EQ(cache.Insert("k", "future", t1, t1), NonceCache::Result::kReused);
  EXPECT_EQ(cache.Insert("k", "now", t1, t1), NonceCache::Result::kFresh);
}

TEST(NonceCache, ReportsFullRatherThanForgettingALiveNonce) {
  NonceCache cache(3);
  absl::Time t0 = absl::FromUnixSeconds(1000000);
  absl::Time expiry = t0 + absl::Minutes(15);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(cache.Insert("k", "n" + std::to_string(i), t0, expiry), NonceCache::Result::kFresh);
  }
  EXPECT_EQ(cache.Insert("k", "n3", t0 + absl::Minutes(1), expiry), NonceCache::Result::kFull);
  EXPECT_EQ(cache.Insert("k", "n0", t0 + absl::Minutes(1), expiry), NonceCache::Result::kReused);
  EXPECT_EQ(cache.Insert("k", "n3", expiry + absl::Seconds(1), expiry + absl::Minutes(16)),
            NonceCache::Result::kFresh);
  EXPECT_EQ(cache.size("k"), 1u);
}

TEST(NonceCache, AFullKeyDoesNotThrottleAnotherKey) {
  NonceCache cache(2);
  absl::Time t0 = absl::FromUnixSeconds(1000000);
  absl::Time expiry = t0 + absl::Minutes(15);
  EXPECT_EQ(cache.Insert("noisy", "a", t0, expiry), NonceCache::Result::kFresh);
  EXPECT_EQ(cache.Insert("noisy", "b", t0, expiry), NonceCache::Result::kFresh);
  EXPECT_EQ(cache.Insert("noisy", "c", t0, expiry), NonceCache::Result::kFull);
  // The same nonce text under another key is another nonce.
  EXPECT_EQ(cache.Insert("quiet", "a", t0, expiry), NonceCache::Result::kFresh);
  EXPECT_EQ(cache.size("quiet"), 1u);
  EXPECT_EQ(cache.size("noisy"), 2u);
}

}  // namespace
}  // namespace server
}  // namespace kms_envelope
