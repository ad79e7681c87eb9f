// A scripted HTTP peer for RemoteKeyProvider tests: answers each request with the next canned
// (status, body) and records what it received. Only for injecting faults and malformed
// responses; the real server (`kms-envelope serve`) is exercised in tests/server.
#ifndef KMS_ENVELOPE_TESTS_REMOTE_FAKE_KMS_H_
#define KMS_ENVELOPE_TESTS_REMOTE_FAKE_KMS_H_

#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace kms_envelope {
namespace testing {

class FakeKms {
 public:
  struct Reply {
    int status = 200;
    std::string body;
    int delay_ms = 0;
    std::string content_type = "application/json";
  };
  struct Received {
    std::string method;
    std::multimap<std::string, std::string> params;
    std::multimap<std::string, std::string> headers;
  };

  FakeKms() {
    server_.Post("/", [this](const httplib::Request& req, httplib::Response& res) { Handle(req, res); });
    server_.Get("/", [this](const httplib::Request& req, httplib::Response& res) { Handle(req, res); });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeKms() {
    server_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void Push(Reply r) {
    std::lock_guard<std::mutex> l(mu_);
    replies_.push_back(std::move(r));
  }
  void Repeat(Reply r, int n) {
    for (int i = 0; i < n; ++i) Push(r);
  }
  void SetDefault(Reply r) {
    std::lock_guard<std::mutex> l(mu_);
    default_ = std::move(r);
  }
  std::vector<Received> received() {
    std::lock_guard<std::mutex> l(mu_);
    return received_;
  }
  size_t count() {
    std::lock_guard<std::mutex> l(mu_);
    return received_.size();
  }

 private:
  void Handle(const httplib::Request& req, httplib::Response& res) {
    Reply r;
    {
      std::lock_guard<std::mutex> l(mu_);
      Received got{req.method, {req.params.begin(), req.params.end()}, {}};
      for (const auto& [name, value] : req.headers) {
        std::string lower = name;
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        got.headers.emplace(lower, value);
      }
      received_.push_back(std::move(got));
      if (!replies_.empty()) {
        r = replies_.front();
        replies_.pop_front();
      } else {
        r = default_;
      }
    }
    if (r.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(r.delay_ms));
    res.status = r.status;
    res.set_content(r.body, r.content_type.c_str());
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::deque<Reply> replies_;
  Reply default_{500, "", 0};
  std::vector<Received> received_;
};

// A loopback port nobody listens on (bound, then closed).
inline int ClosedLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace testing
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_TESTS_REMOTE_FAKE_KMS_H_
