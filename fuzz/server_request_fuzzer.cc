// Fuzz target: the KMS-compatible server's request handling (kms_envelope/server/kms_server.h):
// HTTP parsing (httplib), parameter parsing (query and form body, percent-decoding, limits,
// duplicates), V1 signature verification, timestamp and nonce checks, and the action handlers
// behind them, against the fixed TEST-ONLY local KMS (fuzz_store.h). The server runs in this
// process on 127.0.0.1 (so it is instrumented); each input is one request on a new connection.
//
// Input: the first byte picks the mode, the rest is
//   0: raw bytes written to the socket (then shutdown(SHUT_WR): httplib answers nothing then, so
//      this mode checks only that the server survives);
//   1: an unsigned POST form body;
//   2: parameters `name=value` one per line, completed (AccessKeyId, Timestamp, a fresh
//      SignatureNonce, SignatureMethod/Version, unless given) and signed with the fixture's
//      access key (V1, kms_api/signer.h), so inputs reach the action handlers.
// Invariants:
// - the server answers every form request (modes 1, 2) with an HTTP status below 500 and a JSON
//   body carrying RequestId (and Code for errors) unless Format=XML was asked for;
// - a 200 Decrypt response releases only plaintext the corpus generator sealed (self-checking);
// - no response ever contains the access key secret;
// - it keeps serving: a well-formed signed request after each input still succeeds (checked
//   every 256 inputs).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_store.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/kms_api/signer.h"
#include "kms_envelope/server/access_policy.h"
#include "kms_envelope/server/kms_server.h"
#include "nlohmann/json.hpp"

namespace {

using namespace kms_envelope;  // NOLINT: a fuzz target, not library code
using json = nlohmann::json;

constexpr char kAccessKeyId[] = "fuzz-access-key";
constexpr char kAccessKeySecret[] = "fuzz-secret-TEST-ONLY-0123456789";
constexpr char kTimestamp[] = "2026-11-29T00:00:00Z";

std::unique_ptr<server::KmsServer> g_server;
int g_port = 0;
uint64_t g_nonce = 0;
uint64_t g_inputs = 0;
int g_deep = 0;  // signed requests answered 200 (KmsFuzzReplayCheck)

// Sends `request` on a fresh connection, reads the whole response. `half_close`: shutdown the
// write side after sending (raw inputs, so an incomplete request ends at EOF instead of the
// server's read timeout; httplib drops a half-closed connection without answering, so complete
// requests keep it open and rely on Connection: close).
std::string Exchange(const std::string& request, bool half_close = false) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  FUZZ_CHECK(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(g_port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // libFuzzer's -timeout alarm (SIGALRM, no SA_RESTART) may interrupt a blocking call here; an
  // interrupted connect keeps handshaking in the background, so wait for it to finish.
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  if (rc != 0 && errno == EINTR) {
    pollfd p{fd, POLLOUT, 0};
    while ((rc = ::poll(&p, 1, 20000)) < 0 && errno == EINTR) {
    }
    int err = 0;
    socklen_t len = sizeof(err);
    if (rc == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
      rc = 0;
    } else {
      rc = -1;
      errno = err != 0 ? err : ETIMEDOUT;
    }
  }
  if (rc != 0) {
    std::fprintf(stderr, "connect: %s\n", std::strerror(errno));
    FUZZ_CHECK(false && "connect to the in-process server failed");
  }
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the server may close early on a hostile request
    sent += static_cast<size_t>(n);
  }
  if (half_close) ::shutdown(fd, SHUT_WR);
  std::string response;
  char buf[16384];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    response.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (std::getenv("KMS_FUZZ_DEBUG") != nullptr) {
    std::fprintf(stderr, "--- request\n%s\n--- response\n%s\n", request.c_str(), response.c_str());
  }
  return response;
}

std::string FormRequest(const std::string& body) {
  return "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
         "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

struct Parsed {
  int status = 0;
  std::string body;
};

Parsed ParseResponse(const std::string& response) {
  Parsed p;
  if (response.compare(0, 9, "HTTP/1.1 ") == 0 && response.size() >= 12) {
    p.status = std::atoi(response.substr(9, 3).c_str());
  }
  size_t end = response.find("\r\n\r\n");
  if (end != std::string::npos) p.body = response.substr(end + 4);
  return p;
}

std::string SignedBody(std::vector<kms_api::QueryParam> params) {
  auto has = [&](const char* name) {
    for (const auto& p : params) {
      if (p.first == name) return true;
    }
    return false;
  };
  auto add = [&](const char* name, std::string value) {
    if (!has(name)) params.push_back({name, kms_api::WipedString(value.begin(), value.end())});
  };
  add("AccessKeyId", kAccessKeyId);
  add("Timestamp", kTimestamp);
  add("SignatureNonce", "fuzz-nonce-" + std::to_string(++g_nonce));
  add("SignatureMethod", std::string(kms_api::kSignatureMethodV1));
  add("SignatureVersion", std::string(kms_api::kSignatureVersionV1));
  add("Version", "2016-01-20");
  static const SecretBytes* secret = [] {
    auto s = SecretBytes::New(sizeof(kAccessKeySecret) - 1);
    std::memcpy(s->mutable_data(), kAccessKeySecret, sizeof(kAccessKeySecret) - 1);
    return new SecretBytes(*std::move(s));
  }();
  auto signature = kms_api::SignV1("POST", params, *secret);
  FUZZ_CHECK(signature.ok());
  std::string body;
  for (const auto& [name, value] : params) {
    if (!body.empty()) body += '&';
    body += kms_api::PercentEncode(name) + "=" +
            kms_api::PercentEncode(std::string_view(value.data(), value.size()));
  }
  return body + "&Signature=" + kms_api::PercentEncode(*signature);
}

// `input` is what the fuzzer sent: the server may echo a parameter in an error message (e.g. an
// unknown KeyId), so the secret may appear in the response only if the input itself carried it.
void CheckFormResponse(const Parsed& r, bool xml, const std::string& input) {
  FUZZ_CHECK(r.status >= 200 && r.status < 500);
  if (input.find(kAccessKeySecret) == std::string::npos) {
    FUZZ_CHECK(r.body.find(kAccessKeySecret) == std::string::npos);
  }
  if (xml) return;
  json j = json::parse(r.body, nullptr, false);
  FUZZ_CHECK(j.is_object());
  FUZZ_CHECK(j.contains("RequestId"));
  if (r.status != 200) FUZZ_CHECK(j.contains("Code"));
}

// Signed requests may legitimately disable the key, schedule its deletion or delete its alias
// (the fuzz access key may call every action), so the liveness probe first puts the key back
// (each answer must still be well formed) and names it by id.
void CheckStillServing() {
  const kms_api::WipedString key_id(fuzz::kEnabledKeyId.begin(), fuzz::kEnabledKeyId.end());
  for (const char* repair : {"CancelKeyDeletion", "EnableKey"}) {
    std::vector<kms_api::QueryParam> params;
    params.push_back({"Action", kms_api::WipedString(repair)});
    params.push_back({"KeyId", key_id});
    CheckFormResponse(ParseResponse(Exchange(FormRequest(SignedBody(params)))), false, "");
  }
  std::vector<kms_api::QueryParam> params;
  params.push_back({"Action", kms_api::WipedString("GenerateDataKey")});
  params.push_back({"KeyId", key_id});
  Parsed r = ParseResponse(Exchange(FormRequest(SignedBody(params))));
  FUZZ_CHECK(r.status == 200);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const std::string dir = fuzz::MakeFixedStoreDir();
  local::LocalKeyStoreOptions store_options;
  store_options.directory = dir;
  auto store = local::LocalKeyStore::Open(store_options);
  if (!store.ok()) std::abort();
  server::KmsServerOptions options;
  options.store = std::shared_ptr<local::LocalKeyStore>(*std::move(store));
  if (!options.policy.Add(kAccessKeyId, kAccessKeySecret, {"*"}, {"*"}).ok()) std::abort();
  options.port = 0;
  options.threads = 2;
  absl::Time fixed;
  std::string err;
  if (!absl::ParseTime("%Y-%m-%dT%H:%M:%SZ", kTimestamp, &fixed, &err)) std::abort();
  options.now = [fixed] { return fixed; };
  auto srv = server::KmsServer::New(std::move(options));
  if (!srv.ok() || !(*srv)->Start().ok()) std::abort();
  g_server = *std::move(srv);
  g_port = g_server->port();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const int mode = data[0] % 3;
  if (mode == 0) {
    Exchange(rest, true);  // anything goes at the HTTP level; the server must just survive it
  } else if (mode == 1) {
    Parsed r = ParseResponse(Exchange(FormRequest(rest)));
    CheckFormResponse(r,
                      rest.find("Format=XML") != std::string::npos ||
                          rest.find("Format=xml") != std::string::npos,
                      rest);
  } else {
    std::vector<kms_api::QueryParam> params;
    size_t pos = 0;
    bool xml = false;
    std::string action;
    while (pos <= rest.size() && params.size() < 80) {
      size_t nl = rest.find('\n', pos);
      if (nl == std::string::npos) nl = rest.size();
      std::string line = rest.substr(pos, nl - pos);
      pos = nl + 1;
      size_t eq = line.find('=');
      if (eq == std::string::npos || eq == 0) continue;
      std::string name = line.substr(0, eq), value = line.substr(eq + 1);
      if (name == "Signature") continue;  // the fixture signs
      // Anything but JSON may select XML (the server lowercases); skip the JSON check then.
      if (name == "Format" && value != "JSON" && value != "json") xml = true;
      if (name == "Action") action = value;
      params.push_back({name, kms_api::WipedString(value.begin(), value.end())});
    }
    Parsed r = ParseResponse(Exchange(FormRequest(SignedBody(params))));
    CheckFormResponse(r, xml, rest);
    if (r.status == 200) ++g_deep;
    if (r.status == 200 && action == "Decrypt" && !xml) {
      json j = json::parse(r.body, nullptr, false);
      FUZZ_CHECK(j.contains("Plaintext") && j["Plaintext"].is_string());
      auto plain = internal::Base64Decode(j["Plaintext"].get<std::string>(), 1 << 16);
      FUZZ_CHECK(plain.ok());
      FUZZ_CHECK(fuzz::IsSelfChecking(internal::Bytes(*plain)));
    }
  }
  if (++g_inputs % 256 == 0) CheckStillServing();
  return 0;
}

extern "C" int KmsFuzzReplayCheck() {
  CheckStillServing();
  if (g_deep >= 2) return 0;
  std::fprintf(stderr, "only %d signed seeds were answered 200 (expected at least 2)\n", g_deep);
  return 1;
}
