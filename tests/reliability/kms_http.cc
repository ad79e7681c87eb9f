#include "tests/reliability/kms_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "kms_envelope/testing/test_bytes.h"
#include "kms_envelope/kms_api/signer.h"
#include "kms_envelope/secret_bytes.h"
#include "nlohmann/json.hpp"

namespace kms_envelope {
namespace reliability {

HttpResponse Exchange(int port, const std::string& request, double timeout_seconds) {
  HttpResponse r;
  const auto start = std::chrono::steady_clock::now();
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return r;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return r;
  }
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer and close before reading everything
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buf[16384];
  const auto deadline = start + std::chrono::duration<double>(timeout_seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (raw.compare(0, 9, "HTTP/1.1 ") == 0 && raw.size() >= 12) {
    r.status = std::atoi(raw.substr(9, 3).c_str());
  }
  size_t end = raw.find("\r\n\r\n");
  if (end != std::string::npos) r.body = raw.substr(end + 4);
  nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("Code") && j["Code"].is_string()) r.code = j["Code"];
  return r;
}

std::string FormRequest(const std::string& body) {
  return "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
         "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string UtcTimestamp(long offset_seconds) {
  std::time_t t = std::time(nullptr) + offset_seconds;
  std::tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string SignedBody(const std::vector<std::pair<std::string, std::string>>& in,
                       const SignOptions& options) {
  std::vector<kms_api::QueryParam> params;
  auto add = [&](const std::string& name, const std::string& value) {
    params.push_back({name, kms_api::WipedString(value.begin(), value.end())});
  };
  for (const auto& [name, value] : in) add(name, value);
  add("AccessKeyId", options.access_key_id);
  add("Timestamp", options.timestamp.empty() ? UtcTimestamp() : options.timestamp);
  std::string nonce = options.nonce;
  if (nonce.empty()) {
    uint8_t raw[16];
    kms_envelope::testing::FillRandom(absl::MakeSpan(raw));
    for (uint8_t b : raw) nonce += "0123456789abcdef"[b >> 4], nonce += "0123456789abcdef"[b & 15];
  }
  add("SignatureNonce", nonce);
  add("SignatureMethod", std::string(kms_api::kSignatureMethodV1));
  add("SignatureVersion", std::string(kms_api::kSignatureVersionV1));
  add("Version", "2016-01-20");
  auto secret = SecretBytes::New(options.secret.size());
  std::memcpy(secret->mutable_data(), options.secret.data(), options.secret.size());
  std::string signature = *kms_api::SignV1("POST", params, *secret);
  if (options.corrupt_signature) signature[0] = signature[0] == 'A' ? 'B' : 'A';
  std::string body;
  for (const auto& [name, value] : params) {
    if (!body.empty()) body += '&';
    body += kms_api::PercentEncode(name) + "=" +
            kms_api::PercentEncode(std::string_view(value.data(), value.size()));
  }
  return body + "&Signature=" + kms_api::PercentEncode(signature);
}

}  // namespace reliability
}  // namespace kms_envelope
