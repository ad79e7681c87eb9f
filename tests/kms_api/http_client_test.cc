// HttpClient against a real HTTP server on loopback (cpp-httplib): what arrives, what comes back,
// the response bound, the classification of transport failures, https_only, connection reuse.
#include "kms_envelope/kms_api/http_client.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace kms_envelope {
namespace kms_api {
namespace {

class LoopbackServer {
 public:
  LoopbackServer() {
    server_.Post("/", [this](const httplib::Request& req, httplib::Response& res) {
      ++requests_;
      std::lock_guard<std::mutex> lock(mu_);
      last_body_ = req.body;
      last_header_ = req.get_header_value("X-Probe");
      const size_t n = req.has_param("size") ? std::stoul(req.get_param_value("size")) : 2;
      res.status = req.has_param("status") ? std::stoi(req.get_param_value("status")) : 200;
      res.set_content(std::string(n, 'r'), "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() before the accept loop runs would not end it: wait until it does.
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~LoopbackServer() {
    server_.stop();
    thread_.join();
  }
  std::string Url(const std::string& query = "") const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/" + query;
  }
  int port() const { return port_; }
  int requests() const { return requests_; }
  std::string last_body() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_body_;
  }
  std::string last_header() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_header_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::string last_body_, last_header_;
};

HttpClientOptions Small(size_t max_response) {
  HttpClientOptions o;
  o.max_response_size = max_response;
  return o;
}

TEST(HttpClientTest, PostsTheBodyAndHeadersAndReturnsTheAnswer) {
  LoopbackServer server;
  HttpClient http(Small(1024));
  const std::vector<std::string> headers = {"X-Probe: 42", "Expect:"};
  HttpResponse r = http.Post(server.Url("?size=5").c_str(), headers, "payload", absl::Seconds(5));
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(std::string(r.body), "rrrrr");
  EXPECT_EQ(server.last_body(), "payload");
  EXPECT_EQ(server.last_header(), "42");
}

TEST(HttpClientTest, AnErrorStatusIsAnAnswerNotATransportFailure) {
  LoopbackServer server;
  HttpClient http(Small(1024));
  HttpResponse r = http.Post(server.Url("?status=503").c_str(), {}, "", absl::Seconds(5));
  EXPECT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.http_status, 503);
}

TEST(HttpClientTest, ABodyAtTheBoundPassesAndOneByteMoreIsMalformed) {
  LoopbackServer server;
  HttpClient http(Small(100));
  HttpResponse at = http.Post(server.Url("?size=100").c_str(), {}, "", absl::Seconds(5));
  ASSERT_TRUE(at.status.ok()) << at.status;
  EXPECT_EQ(at.body.size(), 100u);
  HttpResponse over = http.Post(server.Url("?size=101").c_str(), {}, "", absl::Seconds(5));
  EXPECT_EQ(over.status.code(), absl::StatusCode::kDataLoss) << over.status;
  EXPECT_NE(over.status.message().find("malformed KMS response"), std::string_view::npos);
  EXPECT_FALSE(over.retryable);
  EXPECT_TRUE(over.body.empty());
}

TEST(HttpClientTest, ARefusedConnectionIsRetryableUnavailable) {
  int port;
  {
    LoopbackServer gone;
    port = gone.port();
  }
  HttpClient http(Small(1024));
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
  HttpResponse r = http.Post(url.c_str(), {}, "", absl::Seconds(5));
  EXPECT_EQ(r.status.code(), absl::StatusCode::kUnavailable) << r.status;
  EXPECT_TRUE(r.retryable);
  EXPECT_NE(r.status.message().find("KMS request failed"), std::string_view::npos);
}

TEST(HttpClientTest, HttpsOnlyRefusesPlainHttpAsAFinalFailure) {
  LoopbackServer server;
  HttpClientOptions o = Small(1024);
  o.https_only = true;
  o.error_prefix = "gateway";
  HttpClient http(std::move(o));
  HttpResponse r = http.Post(server.Url().c_str(), {}, "", absl::Seconds(5));
  EXPECT_EQ(r.status.code(), absl::StatusCode::kUnavailable) << r.status;
  EXPECT_FALSE(r.retryable);
  EXPECT_EQ(r.status.message().substr(0, 8), "gateway:");
  EXPECT_EQ(server.requests(), 0);
}

TEST(HttpClientTest, ManyThreadsShareThePoolAndEveryRequestArrives) {
  LoopbackServer server;
  HttpClient http(Small(1024));
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        if (http.Post(server.Url().c_str(), {}, "x", absl::Seconds(5)).status.ok()) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 100);
  EXPECT_EQ(server.requests(), 100);
}

}  // namespace
}  // namespace kms_api
}  // namespace kms_envelope
