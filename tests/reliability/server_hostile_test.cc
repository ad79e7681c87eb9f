// Hostile clients against the KMS-compatible server (kms_envelope/server/kms_server.h): each
// malformed, oversized, forged, stale or replayed request gets the documented error code and
// HTTP status, and the server keeps answering a well-formed request right after (and while slow
// clients hold connections open).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "tests/reliability/kms_http.h"
#include "tests/reliability/server_fixture.h"

namespace kms_envelope {
namespace reliability {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

class ServerHostile : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { fixture_ = new ServerFixture(StartServer("hostile_store", 4)); }
  static void TearDownTestSuite() {
    fixture_->server->Stop();
    delete fixture_;
  }

  static SignOptions Signer() {
    SignOptions o;
    o.access_key_id = kAccessKeyId;
    o.secret = kAccessKeySecret;
    return o;
  }
  static HttpResponse Send(const std::string& body) {
    return Exchange(fixture_->port, FormRequest(body));
  }
  static Params Gdk() { return {{"Action", "GenerateDataKey"}, {"KeyId", fixture_->key_id}}; }

  // After every hostile request: a well-formed one still succeeds.
  void ExpectStillServing() {
    HttpResponse ok = Send(SignedBody(Gdk(), Signer()));
    EXPECT_EQ(ok.status, 200) << ok.body;
  }
  void ExpectError(const HttpResponse& r, int status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.code, code) << r.body;
    ExpectStillServing();
  }

  static ServerFixture* fixture_;
};

ServerFixture* ServerHostile::fixture_ = nullptr;

TEST_F(ServerHostile, AWellFormedSignedRequestSucceeds) { ExpectStillServing(); }

// KNOWN FAILING (excluded from the default target, see BUILD.bazel): the server answers a
// 300 KiB body with 400 MissingParameter ("missing Action"), i.e. it handled the request as if
// the body were empty, instead of kms_server.h's 413. kms_envelope/server/kms_server.cc:773
// ignores the return value of httplib's ContentReader; httplib refuses the over-limit body
// before calling the receiver (so too_big is never set) and the handler goes on with "".
TEST_F(ServerHostile, OversizedBodyIsRefusedWith413) {
  std::string body = SignedBody(Gdk(), Signer()) + "&Pad=" + std::string(300 * 1024, 'a');
  HttpResponse r = Send(body);
  EXPECT_EQ(r.status, 413) << r.body;
  ExpectStillServing();
}

TEST_F(ServerHostile, OversizedParameterValueIsInvalidParameter) {
  Params p = Gdk();
  p.push_back({"EncryptionContext", std::string(100 * 1024, 'x')});
  ExpectError(Send(SignedBody(p, Signer())), 400, "InvalidParameter");
}

TEST_F(ServerHostile, TooManyParametersAreInvalidParameter) {
  Params p = Gdk();
  for (int i = 0; i < 80; ++i) p.push_back({"P" + std::to_string(i), "v"});
  ExpectError(Send(SignedBody(p, Signer())), 400, "InvalidParameter");
}

TEST_F(ServerHostile, MalformedPercentEncodingIsInvalidParameter) {
  ExpectError(Send("Action=GenerateDataKey&KeyId=%G1%2"), 400, "InvalidParameter");
  ExpectError(Send("Action=GenerateDataKey&KeyId=abc%"), 400, "InvalidParameter");
}

TEST_F(ServerHostile, MissingActionIsMissingParameter) {
  ExpectError(Send(SignedBody({{"KeyId", fixture_->key_id}}, Signer())), 400, "MissingParameter");
}

TEST_F(ServerHostile, MissingSignaturePartsAreIncompleteSignature) {
  ExpectError(Send("Action=GenerateDataKey&KeyId=" + fixture_->key_id), 400,
              "IncompleteSignature");
}

TEST_F(ServerHostile, DuplicatedParametersAreInvalidParameter) {
  Params p = Gdk();
  p.push_back({"KeyId", fixture_->key_id});
  ExpectError(Send(SignedBody(p, Signer())), 400, "InvalidParameter");
}

TEST_F(ServerHostile, BadSignatureIsSignatureDoesNotMatch) {
  SignOptions o = Signer();
  o.corrupt_signature = true;
  ExpectError(Send(SignedBody(Gdk(), o)), 400, "SignatureDoesNotMatch");
  o = Signer();
  o.secret = "not-the-secret";
  ExpectError(Send(SignedBody(Gdk(), o)), 400, "SignatureDoesNotMatch");
}

TEST_F(ServerHostile, UnknownAccessKeyIsInvalidAccessKeyIdNotFound) {
  SignOptions o = Signer();
  o.access_key_id = "nobody";
  HttpResponse r = Send(SignedBody(Gdk(), o));
  EXPECT_EQ(r.code, "InvalidAccessKeyId.NotFound") << r.body;
  EXPECT_GE(r.status, 400);
  ExpectStillServing();
}

TEST_F(ServerHostile, StaleAndMalformedTimestampsAreRefused) {
  SignOptions o = Signer();
  o.timestamp = UtcTimestamp(-3600);
  ExpectError(Send(SignedBody(Gdk(), o)), 400, "InvalidTimeStamp.Expired");
  o.timestamp = UtcTimestamp(+3600);
  ExpectError(Send(SignedBody(Gdk(), o)), 400, "InvalidTimeStamp.Expired");
  o.timestamp = "yesterday";
  ExpectError(Send(SignedBody(Gdk(), o)), 400, "InvalidTimeStamp.Format");
}

TEST_F(ServerHostile, ReplayedNonceIsSignatureNonceUsed) {
  SignOptions o = Signer();
  o.nonce = "replayed-nonce-0001";
  const std::string body = SignedBody(Gdk(), o);
  HttpResponse first = Send(body);
  EXPECT_EQ(first.status, 200) << first.body;
  HttpResponse again = Send(body);
  EXPECT_EQ(again.code, "SignatureNonceUsed") << again.body;
  EXPECT_GE(again.status, 400);
  ExpectStillServing();
}

TEST_F(ServerHostile, UnknownActionIsInvalidActionNotFound) {
  ExpectError(Send(SignedBody({{"Action", "DeleteEverything"}}, Signer())), 404,
              "InvalidAction.NotFound");
}

TEST_F(ServerHostile, GarbageAtTheHttpLevelDoesNotStopTheServer) {
  for (const std::string& raw :
       {std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11),  // a TLS ClientHello
        std::string("GET / HTTP/9.9\r\n\r\n"),
        std::string("POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n"),
        std::string("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n"),
        std::string(20000, 'A') + "\r\n\r\n"}) {
    Exchange(fixture_->port, raw, 1);
    ExpectStillServing();
  }
}

// Slow clients: more connections than worker threads, each trickling a request header one byte
// at a time. A well-formed request must still be answered promptly.
// KNOWN FAILING (excluded from the default target, see BUILD.bazel): with `threads` worker
// threads, `threads` slowloris connections (1 byte per 500 ms keeps httplib's 10 s per-read
// timeout from firing) hold every worker; the well-formed request got no answer in 30 s.
TEST_F(ServerHostile, SlowClientsDoNotStarveOthers) {
  constexpr int kSlowClients = 12;  // 3x the fixture's 4 worker threads
  std::vector<int> fds;
  for (int i = 0; i < kSlowClients; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(fixture_->port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ::send(fd, "POST / HTTP/1.1\r\nHost: x\r\n", 26, MSG_NOSIGNAL);
    fds.push_back(fd);
  }
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    while (!stop) {
      for (int fd : fds) ::send(fd, "X", 1, MSG_NOSIGNAL);
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  HttpResponse r = Exchange(fixture_->port, FormRequest(SignedBody(Gdk(), Signer())), 30);
  stop = true;
  trickle.join();
  for (int fd : fds) ::close(fd);
  std::printf("well-formed request beside %d slow clients: status %d after %.2f s\n", kSlowClients,
              r.status, r.seconds);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_LT(r.seconds, 2.0) << "slow clients held every worker thread";
}

}  // namespace
}  // namespace reliability
}  // namespace kms_envelope
