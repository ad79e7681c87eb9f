// The provider option table and its rules: names, values, the environment, and which options
// combine. (provider_options_test.cc checks that each option reaches a real provider.)
#include "kms_envelope/config/provider_config.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kms_envelope/config/provider_factory.h"

namespace kms_envelope {
namespace config {
namespace {

std::string Message(const absl::Status& s) { return std::string(s.message()); }

TEST(ProviderConfigTest, EachTextOptionLandsInItsOwnField) {
  ProviderConfig c;
  ASSERT_TRUE(SetOption("home", "/h", &c).ok());
  ASSERT_TRUE(SetOption("root-key-file", "/rk", &c).ok());
  ASSERT_TRUE(SetOption("passphrase-file", "/pp", &c).ok());
  ASSERT_TRUE(SetOption("kms-endpoint", "cn-hangzhou", &c).ok());
  ASSERT_TRUE(SetOption("signature-version", "3", &c).ok());
  ASSERT_TRUE(SetOption("credentials-file", "/cred", &c).ok());
  ASSERT_TRUE(SetOption("kms-instance-endpoint", "https://i", &c).ok());
  ASSERT_TRUE(SetOption("client-key-file", "/ck", &c).ok());
  ASSERT_TRUE(SetOption("client-key-password-file", "/pw", &c).ok());
  ASSERT_TRUE(SetOption("ca-file", "/ca", &c).ok());
  ASSERT_TRUE(SetOption("branch-key-store", "file:/b", &c).ok());
  ASSERT_TRUE(SetOption("branch-tenant-field", "tenant", &c).ok());
  ASSERT_TRUE(SetOption("branch-tenant-prefix", "t-", &c).ok());
  EXPECT_EQ(c.home, "/h");
  EXPECT_EQ(c.root_key_file, "/rk");
  EXPECT_EQ(c.passphrase_file, "/pp");
  EXPECT_EQ(c.kms_endpoint, "cn-hangzhou");
  EXPECT_EQ(c.signature_version, "3");
  EXPECT_EQ(c.credentials_file, "/cred");
  EXPECT_EQ(c.kms_instance_endpoint, "https://i");
  EXPECT_EQ(c.client_key_file, "/ck");
  EXPECT_EQ(c.client_key_password_file, "/pw");
  EXPECT_EQ(c.ca_file, "/ca");
  EXPECT_EQ(c.branch_key_store, "file:/b");
  EXPECT_EQ(c.branch_tenant_field, "tenant");
  EXPECT_EQ(c.branch_tenant_prefix, "t-");
}

TEST(ProviderConfigTest, EachNumberOptionLandsInItsOwnField) {
  ProviderConfig c;
  ASSERT_TRUE(SetOption("branch-cache-ttl-ms", "1", &c).ok());
  ASSERT_TRUE(SetOption("cache-max-age-ms", "2", &c).ok());
  ASSERT_TRUE(SetOption("cache-max-messages", "3", &c).ok());
  ASSERT_TRUE(SetOption("cache-max-bytes", "4", &c).ok());
  ASSERT_TRUE(SetOption("cache-capacity", "5", &c).ok());
  EXPECT_EQ(c.branch_cache_ttl_ms, 1u);
  EXPECT_EQ(c.cache_max_age_ms, 2u);
  EXPECT_EQ(c.cache_max_messages, 3u);
  EXPECT_EQ(c.cache_max_bytes, 4u);
  EXPECT_EQ(c.cache_capacity, 5u);
}

TEST(ProviderConfigTest, UnknownNamesEmptyMalformedAndRepeatedValuesAreRefused) {
  ProviderConfig c;
  absl::Status s = SetOption("kms-endpiont", "x", &c);
  EXPECT_NE(Message(s).find("unknown provider option 'kms-endpiont'"), std::string::npos) << s;
  EXPECT_NE(Message(SetOption("home", "", &c)).find("home: empty value"), std::string::npos);
  for (const char* bad : {"-1", "+1", "1.5", " 1", "1e3", "99999999999999999999"}) {
    EXPECT_FALSE(SetOption("cache-max-bytes", bad, &c).ok()) << bad;
  }
  EXPECT_FALSE(SetOption("signature-version", "2", &c).ok());
  EXPECT_FALSE(SetOption("signature-version", "V3", &c).ok());
  ASSERT_TRUE(SetOption("home", "/a", &c).ok());
  s = SetOption("home", "/b", &c);
  EXPECT_NE(Message(s).find("given twice"), std::string::npos) << s;
  EXPECT_EQ(c.home, "/a");
}

TEST(ProviderConfigTest, VariableNamesAreThePrefixedUpperCaseOptionNames) {
  EXPECT_EQ(EnvironmentName("kms-endpoint"), "KMS_ENVELOPE_KMS_ENDPOINT");
  EXPECT_EQ(EnvironmentName("home"), "KMS_ENVELOPE_HOME");
  EXPECT_EQ(EnvironmentName("ca-file"), "KMS_ENVELOPE_CA_FILE");
  EXPECT_EQ(EnvironmentName("signature-version"), "KMS_ENVELOPE_SIGNATURE_VERSION");
}

TEST(ProviderConfigTest, TheEnvironmentFillsWhatFlagsLeftAndRefusesUnknownVariables) {
  ProviderConfig c;
  ASSERT_TRUE(SetOption("home", "/flag", &c).ok());
  const char* env[] = {"KMS_ENVELOPE_HOME=/env", "KMS_ENVELOPE_CA_FILE=", "PATH=/bin",
                       "KMS_ENVELOPE_AEAD_BACKEND=openssl", "KMS_ENVELOPE_CACHE_CAPACITY=7",
                       nullptr};
  ASSERT_TRUE(ApplyEnvironment(env, &c).ok());
  EXPECT_EQ(c.home, "/flag");
  EXPECT_EQ(c.ca_file, "");  // empty = unset
  EXPECT_EQ(c.cache_capacity, 7u);

  const char* unknown[] = {"KMS_ENVELOPE_SIGNATURE_VERSOIN=3", nullptr};
  absl::Status s = ApplyEnvironment(unknown, &c);
  EXPECT_NE(Message(s).find("KMS_ENVELOPE_SIGNATURE_VERSOIN"), std::string::npos) << s;
  const char* malformed[] = {"KMS_ENVELOPE_SIGNATURE_VERSION=2", nullptr};
  s = ApplyEnvironment(malformed, &c);
  EXPECT_NE(Message(s).find("KMS_ENVELOPE_SIGNATURE_VERSION"), std::string::npos) << s;
}

absl::Status Build(const std::vector<std::pair<const char*, const char*>>& options) {
  ProviderConfig c;
  for (const auto& [name, value] : options) {
    absl::Status s = SetOption(name, value, &c);
    if (!s.ok()) return s;
  }
  return OpenConfiguredProvider(c).status();
}

TEST(ProviderConfigTest, OptionsTheChosenProviderDoesNotUseAreRefused) {
  const std::string dir = std::string(getenv("TEST_TMPDIR")) + "/combinations";
  struct Case {
    std::vector<std::pair<const char*, const char*>> options;
    const char* message;
  } cases[] = {
      {{{"home", dir.c_str()}, {"signature-version", "3"}}, "signature-version does not apply"},
      {{{"home", dir.c_str()}, {"credentials-file", "/c"}}, "credentials-file does not apply"},
      {{{"home", dir.c_str()}, {"client-key-file", "/c"}}, "client-key-file does not apply"},
      {{{"passphrase-file", "/p"}, {"root-key-file", "/r"}}, "not both"},
      {{{"kms-endpoint", "http://127.0.0.1:1"}, {"root-key-file", "/r"}},
       "root-key-file does not apply to a remote KMS"},
      {{{"kms-endpoint", "http://127.0.0.1:1"}, {"client-key-password-file", "/r"}},
       "client-key-password-file does not apply to a remote KMS"},
      {{{"kms-instance-endpoint", "https://i"}, {"kms-endpoint", "cn-hangzhou"}},
       "kms-endpoint does not apply to a KMS instance gateway"},
      {{{"kms-instance-endpoint", "https://i"}, {"signature-version", "3"}},
       "signature-version does not apply to a KMS instance gateway"},
      {{{"kms-instance-endpoint", "https://i"}}, "needs client-key-file"},
      {{{"home", dir.c_str()}, {"branch-cache-ttl-ms", "5"}}, "branch-cache-ttl-ms does not apply"},
      {{{"home", dir.c_str()}, {"branch-key-store", "file:/x"}, {"branch-tenant-prefix", "p"}},
       "branch-tenant-prefix needs branch-tenant-field"},
  };
  for (const Case& c : cases) {
    absl::Status s = Build(c.options);
    EXPECT_NE(Message(s).find(c.message), std::string::npos) << c.message << " / " << s;
  }
}

TEST(ProviderConfigTest, KeyAdministrationIsLocalOnly) {
  ProviderConfig c;
  ASSERT_TRUE(SetOption("kms-endpoint", "cn-hangzhou", &c).ok());
  EXPECT_NE(Message(OpenLocalStore(c).status()).find("local store only"), std::string::npos);
}

}  // namespace
}  // namespace config
}  // namespace kms_envelope
