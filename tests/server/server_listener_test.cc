// How the server listens: one server per port, a real accept backlog, and an accept loop that
// signals do not end.
//
// - cpp-httplib 0.11.4's default socket options set SO_REUSEPORT, so a second server started on
//   the same port bound it too and the kernel split new connections between two servers (which
//   may serve different key stores). KmsServer sets only SO_REUSEADDR.
// - httplib listens with a backlog of 5; bursts of connects beyond it had SYNs dropped and clients
//   stalled for a SYN retransmission (1 s, then 3 s ...). CI's fuzz phase saw one such stall end
//   in EINTR inside connect(). KmsServer resizes the backlog (KmsServerOptions::listen_backlog).
// - A handler installed without SA_RESTART makes a blocked accept() fail with EINTR; httplib
//   retries it but closes the listener for good on most other errors, so the test below guards
//   the retry against a future httplib.
#include <arpa/inet.h>
#include <dirent.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/server/server_test_util.h"

namespace kms_envelope {
namespace testing {
namespace {

std::atomic<int> g_signals_handled{0};

void CountSignal(int) { g_signals_handled.fetch_add(1, std::memory_order_relaxed); }

// Installs `handler` for `sig` without SA_RESTART (so blocked system calls fail with EINTR) and
// restores the previous action on destruction.
class ScopedInterruptingHandler {
 public:
  explicit ScopedInterruptingHandler(int sig) : sig_(sig) {
    struct sigaction action {};
    action.sa_handler = CountSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART
    sigaction(sig_, &action, &previous_);
  }
  ~ScopedInterruptingHandler() { sigaction(sig_, &previous_, nullptr); }

 private:
  int sig_;
  struct sigaction previous_ {};
};

// Sends `sig` to every thread of this process but the caller; returns how many got it.
int SignalEveryOtherThread(int sig) {
  const pid_t self = static_cast<pid_t>(::syscall(SYS_gettid));
  DIR* dir = ::opendir("/proc/self/task");
  if (dir == nullptr) return 0;
  int sent = 0;
  while (dirent* entry = ::readdir(dir)) {
    const pid_t tid = static_cast<pid_t>(std::atoi(entry->d_name));
    if (tid <= 0 || tid == self) continue;
    if (::syscall(SYS_tgkill, ::getpid(), tid, sig) == 0) ++sent;
  }
  ::closedir(dir);
  return sent;
}

// A plain TCP connect to the server; returns 0 or the errno of the failure.
int ConnectErrno(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  const int err = rc == 0 ? 0 : errno;
  ::close(fd);
  return err;
}

// The listening socket of this process bound to `port`, or -1.
int FindListeningSocket(int port) {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int found = -1;
  while (dirent* entry = ::readdir(dir)) {
    const int fd = std::atoi(entry->d_name);
    if (fd <= 2) continue;
    int accepting = 0;
    socklen_t len = sizeof(accepting);
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) != 0 || accepting != 1) {
      continue;
    }
    sockaddr_in addr{};
    socklen_t addr_len = sizeof(addr);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &addr_len) == 0 &&
        addr.sin_family == AF_INET && ntohs(addr.sin_port) == port) {
      found = fd;
    }
  }
  ::closedir(dir);
  return found;
}

class ServerListenerTest : public ServerFixture {};

TEST_F(ServerListenerTest, ASecondServerOnAPortInUseFailsToStartInsteadOfSharingIt) {
  StartServer();
  const int port = server_->port();

  TestKmsServerOptions o;
  o.server.port = port;
  auto second = StartTestKmsServer(std::move(o));
  ASSERT_FALSE(second.ok()) << "a second server listens on port " << port;
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition) << second.status();
  EXPECT_NE(second.status().message().find("cannot listen"), std::string::npos)
      << second.status();

  // The first server still answers every connection.
  httplib::Client http("127.0.0.1", port);
  for (int i = 0; i < 20; ++i) {
    auto res = http.Get(("/?" + SignedV1Query({{"Action", "ListKeys"}, {"Format", "JSON"}}, "GET",
                                              kAdminId, kAdminSecret))
                            .c_str());
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
  }
}

TEST_F(ServerListenerTest, ListensWithTheConfiguredBacklogNotHttplibsFive) {
  StartServer();
  const int fd = FindListeningSocket(server_->port());
  ASSERT_GE(fd, 0);
  // For a listening socket TCP_INFO reports the accept queue limit in tcpi_sacked.
  tcp_info info{};
  socklen_t len = sizeof(info);
  ASSERT_EQ(::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len), 0) << std::strerror(errno);
  int somaxconn = 4096;
  std::ifstream("/proc/sys/net/core/somaxconn") >> somaxconn;
  EXPECT_EQ(static_cast<int>(info.tcpi_sacked),
            std::min(server::KmsServerOptions().listen_backlog, somaxconn));
  EXPECT_GE(info.tcpi_sacked, 128u);
}

TEST_F(ServerListenerTest, AcceptsABurstOfSimultaneousConnectsWithoutDroppingAny) {
  StartServer();
  const int port = server_->port();
  constexpr int kConnections = 200;
  std::vector<std::thread> threads;
  std::atomic<int> slow{0};
  std::atomic<int> failed{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kConnections / 8; ++i) {
        const auto start = std::chrono::steady_clock::now();
        const int err = ConnectErrno(port);
        if (err != 0) failed.fetch_add(1);
        // A dropped SYN costs at least the 1 s retransmission timeout.
        if (std::chrono::steady_clock::now() - start > std::chrono::milliseconds(900)) {
          slow.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(slow.load(), 0);
}

TEST_F(ServerListenerTest, KeepsAnsweringWhileSignalsInterruptEveryThread) {
  ScopedInterruptingHandler handler(SIGUSR2);
  StartServer();
  const int port = server_->port();
  httplib::Client http("127.0.0.1", port);
  http.set_connection_timeout(2, 0);
  http.set_read_timeout(5, 0);

  constexpr int kRounds = 300;
  int answered = 0;
  for (int round = 0; round < kRounds; ++round) {
    ASSERT_GT(SignalEveryOtherThread(SIGUSR2), 0);
    // Give the signal time to land while the accept thread is blocked in accept().
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    const int err = ConnectErrno(port);
    ASSERT_EQ(err, 0) << "round " << round << ": connect failed: " << std::strerror(err);
    auto res = http.Get(("/?" + SignedV1Query({{"Action", "ListKeys"}, {"Format", "JSON"}}, "GET",
                                              kAdminId, kAdminSecret))
                            .c_str());
    ASSERT_TRUE(res) << "round " << round << ": " << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 200) << res->body;
    if (res->status == 200) ++answered;
  }
  EXPECT_EQ(answered, kRounds);
  EXPECT_GE(g_signals_handled.load(), kRounds);
}

TEST_F(ServerListenerTest, StopStillEndsTheServerPromptlyWhenSignalsArrive) {
  ScopedInterruptingHandler handler(SIGUSR2);
  StartServer();
  const int port = server_->port();
  ASSERT_EQ(ConnectErrno(port), 0);
  std::atomic<bool> done{false};
  std::thread noise([&] {
    while (!done.load()) {
      SignalEveryOtherThread(SIGUSR2);
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  });
  const auto start = std::chrono::steady_clock::now();
  server_->Stop();
  const auto took = std::chrono::steady_clock::now() - start;
  done = true;
  noise.join();
  EXPECT_LT(took, std::chrono::seconds(5));
  EXPECT_EQ(ConnectErrno(port), ECONNREFUSED);
}

}  // namespace
}  // namespace testing
}  // namespace kms_envelope
