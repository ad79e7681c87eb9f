// Every provider option reaches the provider from every front end: the `kms-envelope` binary's
// flags, its KMS_ENVELOPE_* environment variables, and the C API's name/value pairs. Each probe
// sets options, asks for a data key and checks an effect only the option could have had: a
// file where the option put it, the access key or signature version a real KmsServer logged, a
// TLS connection only the CA file makes possible, or a refusal from the component that the
// option configures (a zero cache limit). Unknown names and values are refused by each front end.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "gtest/gtest.h"
#include "kms_envelope/c/kms_envelope.h"
#include "tests/instance/instance_test_util.h"
#include "tests/server/test_kms_server.h"

namespace kms_envelope {
namespace {

namespace fs = std::filesystem;
using Options = std::vector<std::pair<std::string, std::string>>;

constexpr char kCli[] = "kms_envelope/cli/kms-envelope";

struct Outcome {
  bool ok = false;
  std::string message;  // error code and message, or the KeyId on success
};

// The environment a front end runs with: AccessKey credentials and a private HOME.
struct Env {
  std::string access_key_id;
  std::string access_key_secret;
  std::string home;
  Options extra;  // more variables (KMS_ENVELOPE_*)
};

Env EnvFor(std::string access_key_id, std::string access_key_secret, std::string home) {
  Env env;
  env.access_key_id = std::move(access_key_id);
  env.access_key_secret = std::move(access_key_secret);
  env.home = std::move(home);
  return env;
}

// The variable of an option, spelled out independently of the library's own mapping.
std::string VariableOf(const std::string& option) {
  std::string name = "KMS_ENVELOPE_";
  for (char c : option) name += c == '-' ? '_' : static_cast<char>(std::toupper(c));
  return name;
}

std::string ReadAll(const std::string& path) {
  auto read = testing::ReadFile(path);
  return read.ok() ? *read : "";
}

// Runs the CLI with exactly `args` and `env`; the outcome from its stdout / stderr JSON.
Outcome RunCli(const std::vector<std::string>& args, const Env& env, const std::string& dir) {
  std::vector<std::string> vars = {"PATH=/usr/bin:/bin", "HOME=" + env.home};
  if (!env.access_key_id.empty()) {
    vars.push_back("ALIBABA_CLOUD_ACCESS_KEY_ID=" + env.access_key_id);
    vars.push_back("ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + env.access_key_secret);
  }
  for (const auto& [k, v] : env.extra) vars.push_back(k + "=" + v);
  std::vector<char*> argv = {const_cast<char*>(kCli)};
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (std::string& v : vars) envp.push_back(v.data());
  envp.push_back(nullptr);
  const std::string out = dir + "/cli.out", err = dir + "/cli.err";
  pid_t pid = fork();
  if (pid == 0) {
    int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(o, 1);
    dup2(e, 2);
    execve(kCli, argv.data(), envp.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  Outcome result;
  result.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (result.ok) {
    nlohmann::json j = nlohmann::json::parse(ReadAll(out), nullptr, false);
    result.message = j.is_object() && j.contains("KeyId") ? j["KeyId"].get<std::string>() : "";
  } else {
    result.message = ReadAll(err);  // {"Code": ..., "Message": ...} (and any notes)
  }
  return result;
}

std::vector<std::string> GenerateArgs(const std::string& key_id, const std::string& context) {
  std::vector<std::string> args = {"datakey", "generate", "--key-id", key_id};
  if (!context.empty()) args.insert(args.end(), {"--encryption-context", context});
  return args;
}

Outcome CliFlags(const Options& options, const std::string& key_id, const std::string& context,
                 const Env& env, const std::string& dir) {
  std::vector<std::string> args;
  for (const auto& [name, value] : options) args.insert(args.end(), {"--" + name, value});
  for (std::string& a : GenerateArgs(key_id, context)) args.push_back(std::move(a));
  return RunCli(args, env, dir);
}

Outcome CliEnvironment(const Options& options, const std::string& key_id,
                       const std::string& context, const Env& env, const std::string& dir) {
  Env with = env;
  for (const auto& [name, value] : options) with.extra.emplace_back(VariableOf(name), value);
  return RunCli(GenerateArgs(key_id, context), with, dir);
}

Outcome ErrorOutcome(const kmse_error& err) {
  return {false, std::string(err.kms_code) + ": " + err.message};
}

// The C API in this process: credentials through the process environment (the only way the
// library reads ALIBABA_CLOUD_*), provider options as pairs.
Outcome CApi(const Options& options, const std::string& key_id, const std::string& context,
             const Env& env, const std::string&) {
  setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", env.access_key_id.c_str(), 1);
  setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", env.access_key_secret.c_str(), 1);
  std::vector<const char*> names, values;
  for (const auto& [name, value] : options) {
    names.push_back(name.c_str());
    values.push_back(value.c_str());
  }
  kmse_error err{};
  kmse_provider* provider = nullptr;
  if (kmse_provider_open_config(names.data(), values.data(), names.size(), 0, &provider, &err) !=
      KMSE_OK) {
    return ErrorOutcome(err);
  }
  uint8_t plaintext[32];
  uint8_t blob[4096];
  size_t plaintext_len = 0, blob_len = 0;
  kmse_key_info info{};
  kmse_status status = kmse_generate_data_key(
      provider, key_id.c_str(), 32, context.empty() ? nullptr : context.c_str(), plaintext,
      sizeof(plaintext), &plaintext_len, blob, sizeof(blob), &blob_len, &info, &err);
  kmse_wipe(plaintext, sizeof(plaintext));
  kmse_provider_free(provider);
  if (status != KMSE_OK) return ErrorOutcome(err);
  return {true, info.key_id};
}

using FrontEnd = std::function<Outcome(const Options&, const std::string&, const std::string&,
                                       const Env&, const std::string&)>;

struct Probe {
  std::vector<std::string> covers;  // the option names this probe shows reaching the provider
  Options options;
  std::string key_id;
  std::string context;
  Env env;
  std::function<void(const Outcome&)> check;
};

// The two real servers: the KMS RPC API over HTTP with an access log (to see which access key
// and signature version a request used), and an HTTPS one with the instance API and the RPC API
// (to see that the CA file and the ClientKey reach their providers).
class ProviderOptionsTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    log_ = new std::ostringstream;
    testing::TestKmsServerOptions o;
    o.key_descriptions = {"probe key"};
    o.add_access_keys = [](const std::vector<std::string>&, server::AccessPolicy& p) {
      absl::Status s = p.Add("env-app", "env-secret", {"*"}, {"*"});
      return s.ok() ? p.Add("file-app", "file-secret", {"*"}, {"*"}) : s;
    };
    o.server.access_log = log_;
    auto rpc = testing::StartTestKmsServer(std::move(o));
    ASSERT_TRUE(rpc.ok()) << rpc.status();
    rpc_ = new testing::TestKmsServer(std::move(*rpc));

    const std::string dir = testing::FreshDir("instance");
    auto ck = testing::MakeClientKeyFiles(dir, "KAAP.probe");
    ASSERT_TRUE(ck.ok()) << ck.status();
    client_key_ = new testing::ClientKeyFiles(*ck);
    testing::InstanceTestServerOptions io;
    io.client_keys = {{*ck, {"*"}}};
    io.rpc_access_key = true;
    auto instance = testing::StartInstanceServer(dir, std::move(io));
    ASSERT_TRUE(instance.ok()) << instance.status();
    instance_ = new testing::InstanceTestServer(std::move(*instance));
  }

  static void TearDownTestSuite() {
    delete instance_;
    delete rpc_;
    delete client_key_;
    delete log_;
  }

  // The last access log line's field.
  static std::string LastLogged(const std::string& field) {
    std::istringstream lines(log_->str());
    std::string line, last;
    while (std::getline(lines, line)) last = line;
    nlohmann::json j = nlohmann::json::parse(last, nullptr, false);
    return j.is_object() && j.contains(field) ? j[field].get<std::string>() : "";
  }

  FrontEnd Front() const {
    if (GetParam() == "cli_flags") return CliFlags;
    if (GetParam() == "cli_environment") return CliEnvironment;
    return CApi;
  }

  std::vector<Probe> Probes(const std::string& dir);

  static std::ostringstream* log_;
  static testing::TestKmsServer* rpc_;
  static testing::InstanceTestServer* instance_;
  static testing::ClientKeyFiles* client_key_;
};

std::ostringstream* ProviderOptionsTest::log_ = nullptr;
testing::TestKmsServer* ProviderOptionsTest::rpc_ = nullptr;
testing::InstanceTestServer* ProviderOptionsTest::instance_ = nullptr;
testing::ClientKeyFiles* ProviderOptionsTest::client_key_ = nullptr;

void ExpectRefused(const Outcome& o, const std::string& text) {
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.message.find(text), std::string::npos) << o.message;
}

std::vector<Probe> ProviderOptionsTest::Probes(const std::string& dir) {
  const std::string store = dir + "/store";
  const Env local = EnvFor("", "", dir);
  const Env env_app = EnvFor("env-app", "env-secret", dir);
  const Env rpc = EnvFor("rpc", "rpc-secret", dir);
  EXPECT_TRUE(testing::WriteFile(dir + "/pass.txt", "correct horse\n").ok());
  EXPECT_TRUE(testing::WriteFile(dir + "/creds.json",
                                 R"({"AccessKeyId": "file-app", "AccessKeySecret": "file-secret"})")
                  .ok());
  const std::string rpc_key = rpc_->key_ids[0];
  const std::string bks = "file:" + dir + "/branch-keys";
  auto store_opened = [](const Outcome& o) {
    ExpectRefused(o, "AliasNotFound");  // the store answered: no such alias
  };
  return {
      {{"home"}, {{"home", store}}, "alias/probe", "", local,
       [=](const Outcome& o) {
         store_opened(o);
         EXPECT_TRUE(fs::exists(store + "/root.key"));
       }},
      {{"root-key-file"}, {{"home", store}, {"root-key-file", dir + "/rk.key"}}, "alias/probe", "",
       local,
       [=](const Outcome& o) {
         store_opened(o);
         EXPECT_TRUE(fs::exists(dir + "/rk.key"));
         EXPECT_FALSE(fs::exists(store + "/root.key"));
       }},
      {{"passphrase-file"}, {{"home", store}, {"passphrase-file", dir + "/pass.txt"}},
       "alias/probe", "", local,
       [=](const Outcome& o) {
         store_opened(o);
         EXPECT_TRUE(fs::exists(store));
         EXPECT_FALSE(fs::exists(store + "/root.key"));
       }},
      {{"kms-endpoint"}, {{"kms-endpoint", rpc_->endpoint()}}, rpc_key, "", env_app,
       [=](const Outcome& o) {
         EXPECT_TRUE(o.ok) << o.message;
         EXPECT_EQ(LastLogged("access_key_id"), "env-app");
         EXPECT_EQ(LastLogged("auth"), "V1");
       }},
      {{"signature-version"}, {{"kms-endpoint", rpc_->endpoint()}, {"signature-version", "3"}},
       rpc_key, "", env_app,
       [=](const Outcome& o) {
         EXPECT_TRUE(o.ok) << o.message;
         EXPECT_EQ(LastLogged("auth"), "V3");
       }},
      {{"credentials-file"},
       {{"kms-endpoint", rpc_->endpoint()}, {"credentials-file", dir + "/creds.json"}}, rpc_key,
       "", env_app,
       [=](const Outcome& o) {
         EXPECT_TRUE(o.ok) << o.message;
         EXPECT_EQ(LastLogged("access_key_id"), "file-app");
       }},
      // The server's certificate is self-signed: only the CA file lets TLS verify it.
      {{"ca-file"},
       {{"kms-endpoint", instance_->endpoint()}, {"ca-file", instance_->tls.cert_path}},
       instance_->key_ids[0], "", rpc,
       [=](const Outcome& o) { EXPECT_TRUE(o.ok) << o.message; }},
      {{"kms-instance-endpoint", "client-key-file", "client-key-password-file"},
       {{"kms-instance-endpoint", instance_->endpoint()},
        {"client-key-file", client_key_->json_path},
        {"client-key-password-file", client_key_->password_path},
        {"ca-file", instance_->tls.cert_path}},
       instance_->key_ids[0], "", local,
       [=](const Outcome& o) {
         EXPECT_TRUE(o.ok) << o.message;
         EXPECT_EQ(o.message, instance_->key_ids[0]);
       }},
      {{"branch-key-store"}, {{"home", store}, {"branch-key-store", bks}}, "tenant-a", "", local,
       [=](const Outcome& o) { ExpectRefused(o, "no branch key tenant-a"); }},
      {{"branch-tenant-field", "branch-tenant-prefix"},
       {{"home", store},
        {"branch-key-store", bks},
        {"branch-tenant-field", "tenant"},
        {"branch-tenant-prefix", "pfx-"}},
       "branch-key/from-context", R"({"tenant":"a"})", local,
       [=](const Outcome& o) { ExpectRefused(o, "no branch key pfx-a"); }},
      {{"branch-cache-ttl-ms"},
       {{"home", store}, {"branch-key-store", bks}, {"branch-cache-ttl-ms", "0"}}, "tenant-a", "",
       local, [=](const Outcome& o) { ExpectRefused(o, "ttl must be positive"); }},
      // A zero limit is refused by the cache itself: the value got there.
      {{"cache-max-age-ms"}, {{"home", store}, {"cache-max-age-ms", "0"}}, "alias/probe", "", local,
       [=](const Outcome& o) { ExpectRefused(o, "max_age and decrypt_max_age must be positive"); }},
      {{"cache-max-messages"}, {{"home", store}, {"cache-max-messages", "0"}}, "alias/probe", "",
       local, [=](const Outcome& o) { ExpectRefused(o, "max_messages and max_bytes must be"); }},
      {{"cache-max-bytes"}, {{"home", store}, {"cache-max-bytes", "0"}}, "alias/probe", "", local,
       [=](const Outcome& o) { ExpectRefused(o, "max_messages and max_bytes must be"); }},
      {{"cache-capacity"}, {{"home", store}, {"cache-capacity", "0"}}, "alias/probe", "", local,
       [=](const Outcome& o) { ExpectRefused(o, "cache capacity must be 1.."); }},
  };
}

TEST_P(ProviderOptionsTest, EveryOptionReachesTheProvider) {
  const std::string base = testing::FreshDir("probes-" + GetParam());
  std::set<std::string> covered;
  for (size_t i = 0;; ++i) {
    const std::string dir = base + "/" + std::to_string(i);
    fs::create_directories(dir);
    std::vector<Probe> probes = Probes(dir);
    if (i >= probes.size()) break;
    Probe& p = probes[i];
    SCOPED_TRACE(p.covers[0]);
    p.check(Front()(p.options, p.key_id, p.context, p.env, dir));
    covered.insert(p.covers.begin(), p.covers.end());
  }
  std::set<std::string> all;
  for (size_t i = 0; kmse_provider_option_name(i) != nullptr; ++i) {
    all.insert(kmse_provider_option_name(i));
  }
  EXPECT_EQ(covered, all) << "every option needs a probe";
}

TEST_P(ProviderOptionsTest, AnUnknownOptionIsRefusedByName) {
  const std::string dir = testing::FreshDir("unknown-" + GetParam());
  Outcome o;
  const Env env = EnvFor("", "", dir);
  if (GetParam() == "cli_flags") {
    o = RunCli({"--kms-endpiont", "x", "datakey", "generate", "--key-id", "k"}, env, dir);
  } else {
    o = Front()({{"kms-endpiont", "x"}}, "k", "", env, dir);
  }
  ExpectRefused(o, GetParam() == "cli_environment" ? "KMS_ENVELOPE_KMS_ENDPIONT" : "kms-endpiont");
}

TEST_P(ProviderOptionsTest, AMalformedValueIsRefusedByName) {
  const std::string dir = testing::FreshDir("malformed-" + GetParam());
  const Env local = EnvFor("", "", dir);
  Outcome o = Front()({{"home", dir + "/s"}, {"cache-max-bytes", "12x"}}, "k", "", local, dir);
  ExpectRefused(o, "cache-max-bytes");
  o = Front()({{"kms-endpoint", "http://127.0.0.1:1"}, {"signature-version", "2"}}, "k", "",
              EnvFor("a", "b", dir), dir);
  ExpectRefused(o, "signature-version");
}

TEST_P(ProviderOptionsTest, AnOptionTheProviderDoesNotUseIsRefused) {
  const std::string dir = testing::FreshDir("unused-" + GetParam());
  const Env local = EnvFor("", "", dir);
  Outcome o = Front()({{"home", dir + "/s"}, {"ca-file", dir + "/ca.pem"}}, "k", "", local, dir);
  ExpectRefused(o, "ca-file does not apply to the local key store");
  o = Front()({{"kms-endpoint", "http://127.0.0.1:1"}, {"passphrase-file", dir + "/p"}}, "k", "",
              EnvFor("a", "b", dir), dir);
  ExpectRefused(o, "passphrase-file does not apply to a remote KMS");
  o = Front()({{"home", dir + "/s"}, {"branch-tenant-field", "tenant"}}, "k", "", local, dir);
  ExpectRefused(o, "branch-tenant-field does not apply");
}

INSTANTIATE_TEST_SUITE_P(FrontEnds, ProviderOptionsTest,
                         ::testing::Values("cli_flags", "cli_environment", "c_api"),
                         [](const auto& info) { return info.param; });

// The environment is read only where asked for, and a flag wins over its variable.
TEST(ProviderEnvironmentTest, TheCApiReadsTheEnvironmentWhenAsked) {
  const std::string dir = testing::FreshDir("c-env");
  setenv("KMS_ENVELOPE_HOME", (dir + "/from-env").c_str(), 1);
  kmse_error err{};
  kmse_provider* provider = nullptr;
  ASSERT_EQ(kmse_provider_open_config(nullptr, nullptr, 0, 1, &provider, &err), KMSE_OK)
      << err.message;
  kmse_provider_free(provider);
  EXPECT_TRUE(fs::exists(dir + "/from-env/root.key"));

  const char* name = "home";
  const std::string pair_home = dir + "/from-pair";
  const char* value = pair_home.c_str();
  ASSERT_EQ(kmse_provider_open_config(&name, &value, 1, 1, &provider, &err), KMSE_OK)
      << err.message;
  kmse_provider_free(provider);
  EXPECT_TRUE(fs::exists(pair_home + "/root.key"));

  setenv("KMS_ENVELOPE_HOEM", "x", 1);
  EXPECT_EQ(kmse_provider_open_config(&name, &value, 1, 1, &provider, &err),
            KMSE_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(err.message).find("KMS_ENVELOPE_HOEM"), std::string::npos) << err.message;
  // Without use_environment nothing of it is read (the misspelt variable is not looked at).
  EXPECT_EQ(kmse_provider_open_config(&name, &value, 1, 0, &provider, &err), KMSE_OK);
  kmse_provider_free(provider);
  unsetenv("KMS_ENVELOPE_HOEM");
  unsetenv("KMS_ENVELOPE_HOME");
}

TEST(ProviderEnvironmentTest, ACliFlagWinsOverItsVariable) {
  const std::string dir = testing::FreshDir("cli-precedence");
  Env env = EnvFor("", "", dir);
  env.extra = {{"KMS_ENVELOPE_HOME", dir + "/from-env"}};
  Outcome o = RunCli({"--home", dir + "/from-flag", "datakey", "generate", "--key-id",
                      "alias/probe"},
                     env, dir);
  ExpectRefused(o, "AliasNotFound");
  EXPECT_TRUE(fs::exists(dir + "/from-flag/root.key"));
  EXPECT_FALSE(fs::exists(dir + "/from-env"));
}

}  // namespace
}  // namespace kms_envelope
