#include "tests/instance/instance_test_util.h"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "kms_envelope/instance/server_extension.h"
#include "kms_envelope/status_macros.h"

namespace kms_envelope {
namespace testing {

absl::StatusOr<std::string> RunShell(const std::string& command) {
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return absl::InternalError("popen failed");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int rc = ::pclose(p);
  if (rc != 0) return absl::InternalError(absl::StrCat("`", command, "` exited with ", rc));
  return out;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::Status WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  return out ? absl::OkStatus() : absl::InternalError(path);
}

std::string FreshDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

absl::StatusOr<ClientKeyFiles> MakeClientKeyFiles(const std::string& dir, const std::string& key_id,
                                                  bool legacy, int bits) {
  ClientKeyFiles f;
  f.key_id = key_id;
  f.password = "pw-" + key_id;
  const std::string base = dir + "/" + key_id;
  f.private_pem_path = base + ".key.pem";
  f.public_pem_path = base + ".pub.pem";
  f.json_path = base + ".json";
  f.password_path = base + ".password";
  KMS_RETURN_IF_ERROR(
      RunShell(absl::StrCat("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:", bits,
                            " -out ", f.private_pem_path, " 2>/dev/null &&",
                            " openssl req -new -x509 -key ", f.private_pem_path,
                            " -subj /CN=", key_id, " -days 1 -out ", base, ".crt &&",
                            " openssl pkcs12 -export", legacy ? " -legacy" : "", " -inkey ",
                            f.private_pem_path, " -in ", base, ".crt -passout pass:", f.password,
                            " -out ", base, ".p12 &&",
                            " openssl pkey -in ", f.private_pem_path, " -pubout -out ",
                            f.public_pem_path))
          .status());
  KMS_ASSIGN_OR_RETURN(std::string b64,
                       RunShell(absl::StrCat("openssl base64 -A -in ", base, ".p12")));
  KMS_ASSIGN_OR_RETURN(f.public_pem, ReadFile(f.public_pem_path));
  KMS_RETURN_IF_ERROR(WriteFile(
      f.json_path, absl::StrCat("{\"KeyId\": \"", key_id, "\", \"PrivateKeyData\": \"",
                                absl::StripAsciiWhitespace(b64), "\"}\n")));
  KMS_RETURN_IF_ERROR(WriteFile(f.password_path, f.password + "\n"));
  return f;
}

absl::StatusOr<TlsFiles> MakeTlsFiles(const std::string& dir) {
  TlsFiles t{dir + "/tls.crt", dir + "/tls.key"};
  KMS_RETURN_IF_ERROR(
      RunShell(absl::StrCat("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256",
                            " -nodes -keyout ", t.key_path, " -out ", t.cert_path,
                            " -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1",
                            " -days 1 2>/dev/null"))
          .status());
  return t;
}

absl::StatusOr<InstanceTestServer> StartInstanceServer(const std::string& dir,
                                                       InstanceTestServerOptions options) {
  InstanceTestServer s;
  KMS_ASSIGN_OR_RETURN(s.tls, MakeTlsFiles(dir));
  local::LocalKeyStoreOptions store_options;
  store_options.in_memory = options.store_directory.empty();
  store_options.directory = options.store_directory;
  KMS_ASSIGN_OR_RETURN(s.store, local::LocalKeyStore::Open(store_options));
  for (const std::string& d : options.key_descriptions) {
    KMS_ASSIGN_OR_RETURN(auto key, s.store->CreateKey(d));
    s.key_ids.push_back(key.key_id);
  }
  instance::InstanceHandlerOptions h;
  h.store = s.store;
  h.faults = options.faults;
  h.now = options.now;
  for (auto& [ck, keys] : options.client_keys) {
    for (std::string& k : keys) {
      if (k.rfind("key:", 0) == 0) k = s.key_ids.at(std::stoul(k.substr(4)));
    }
    KMS_RETURN_IF_ERROR(h.policy.Add(ck.key_id, ck.public_pem, keys));
  }
  KMS_ASSIGN_OR_RETURN(s.handler, instance::InstanceHandler::New(std::move(h)));
  server::KmsServerOptions o;
  o.store = s.store;
  o.tls_cert_file = s.tls.cert_path;
  o.tls_key_file = s.tls.key_path;
  if (options.rpc_access_key) KMS_RETURN_IF_ERROR(o.policy.Add("rpc", "rpc-secret", {"*"}, {"*"}));
  o.threads = 2;
  o.extension = instance::ServerExtension(s.handler.get());
  KMS_ASSIGN_OR_RETURN(s.server, server::KmsServer::New(std::move(o)));
  KMS_RETURN_IF_ERROR(s.server->Start());
  s.port = s.server->port();
  return s;
}

}  // namespace testing
}  // namespace kms_envelope
