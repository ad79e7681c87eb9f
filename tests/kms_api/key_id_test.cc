// kms_api/key_id.h: the one rule that tells an alias from a GUID and says which alias names may
// be created.
#include "kms_envelope/kms_api/key_id.h"

#include <gtest/gtest.h>

#include <string>

namespace kms_envelope {
namespace kms_api {
namespace {

TEST(KeyIdTest, AnAliasIsAnythingStartingWithTheAliasPrefix) {
  EXPECT_TRUE(IsAlias("alias/app"));
  EXPECT_TRUE(IsAlias("alias/"));
  EXPECT_FALSE(IsAlias("1b4e28ba-2fa1-41d2-883f-0016d3cca427"));
  EXPECT_FALSE(IsAlias("Alias/app"));
  EXPECT_FALSE(IsAlias("alias"));
  EXPECT_FALSE(IsAlias(""));
}

TEST(KeyIdTest, AliasNamesUseTheDocumentedCharactersAndLength) {
  EXPECT_TRUE(IsValidAliasName("alias/app"));
  EXPECT_TRUE(IsValidAliasName("alias/team:app/prod_1-a"));
  EXPECT_TRUE(IsValidAliasName("alias/" + std::string(kMaxAliasNameSize - 6, 'a')));
  EXPECT_FALSE(IsValidAliasName("alias/" + std::string(kMaxAliasNameSize - 5, 'a')));
  EXPECT_FALSE(IsValidAliasName("alias/"));
  EXPECT_FALSE(IsValidAliasName("app"));
  EXPECT_FALSE(IsValidAliasName("alias/a b"));
  EXPECT_FALSE(IsValidAliasName("alias/a.b"));
}

TEST(KeyIdTest, TheServicesReservedAliasPrefixIsRefused) {
  EXPECT_FALSE(IsValidAliasName("alias/acs"));
  EXPECT_FALSE(IsValidAliasName("alias/acs/kms"));
  EXPECT_TRUE(IsValidAliasName("alias/ac"));
}

}  // namespace
}  // namespace kms_api
}  // namespace kms_envelope
