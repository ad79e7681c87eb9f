#include "tests/branch/postgres_server.h"

#include <glob.h>
#include <grp.h>
#include <netinet/in.h>
#include <postgresql/libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <vector>

namespace kms_envelope {
namespace branch_testing {
namespace {

std::string FindBinDir() {
  glob_t g;
  std::string best;
  if (::glob("/usr/lib/postgresql/*/bin/initdb", 0, nullptr, &g) == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i) {
      std::string p = g.gl_pathv[i];
      std::string dir = p.substr(0, p.size() - std::string("/initdb").size());
      // Highest major version wins (paths differ only in the version directory).
      if (best.empty() || std::stoi(dir.substr(20)) > std::stoi(best.substr(20))) best = dir;
    }
  }
  ::globfree(&g);
  return best;
}

int FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

}  // namespace

// Forks; the child drops to the postgres user when asked, sends output to `log`, and execs.
static pid_t Spawn(const std::vector<std::string>& argv, bool drop, uid_t uid, gid_t gid,
                   const std::string& log) {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  if (drop && (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0)) {
    ::_exit(126);
  }
  FILE* out = std::fopen(log.c_str(), "a");
  if (out != nullptr) {
    ::dup2(fileno(out), 1);
    ::dup2(fileno(out), 2);
  }
  // If the test dies (a crash, a timeout kill), the server goes too instead of lingering.
  ::prctl(PR_SET_PDEATHSIG, SIGQUIT);
  if (::getppid() == 1) ::_exit(125);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execv(args[0], args.data());
  ::_exit(127);
}

std::unique_ptr<PostgresServer> PostgresServer::Start() {
  std::unique_ptr<PostgresServer> s(new PostgresServer());
  s->bin_ = FindBinDir();
  if (s->bin_.empty()) {
    std::fprintf(stderr, "no /usr/lib/postgresql/*/bin/initdb: install postgresql\n");
    return nullptr;
  }
  s->drop_privileges_ = ::geteuid() == 0;
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string pattern = (s->drop_privileges_ || tmp == nullptr ? std::string("/tmp") : tmp) +
                        "/kmse-pg-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::perror(("mkdtemp " + pattern).c_str());
    return nullptr;
  }
  s->root_ = pattern;
  s->data_ = s->root_ + "/data";
  if (s->drop_privileges_) {
    const passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) {
      std::fprintf(stderr, "running as root and there is no postgres user to run the server\n");
      return nullptr;
    }
    s->uid_ = pw->pw_uid;
    s->gid_ = pw->pw_gid;
    if (::chown(s->root_.c_str(), s->uid_, s->gid_) != 0) {
      std::perror(("chown " + s->root_).c_str());
      return nullptr;
    }
  }
  const std::string log = s->root_ + "/server.log";
  const pid_t init = Spawn({s->bin_ + "/initdb", "-D", s->data_, "-U", "kmse", "-A", "trust",
                            "-E", "UTF8", "--no-sync", "--no-instructions"},
                           s->drop_privileges_, s->uid_, s->gid_, log);
  int status = 0;
  ::waitpid(init, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "initdb failed (see %s)\n", log.c_str());
    return nullptr;
  }
  s->port_ = FreeLoopbackPort();
  if (!s->Launch()) return nullptr;
  return s;
}

bool PostgresServer::Launch() {
  pid_ = Spawn({bin_ + "/postgres", "-D", data_, "-p", std::to_string(port_), "-c",
                "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "fsync=off",
                "-c", "max_connections=40", "-c", "shared_buffers=16MB"},
               drop_privileges_, uid_, gid_, root_ + "/server.log");
  const std::string info = conninfo();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (PQping(info.c_str()) == PQPING_OK) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) break;  // it died
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::fprintf(stderr, "postgres did not start (see %s/server.log)\n", root_.c_str());
  pid_ = -1;
  return false;
}

std::string PostgresServer::conninfo() const {
  return "host=127.0.0.1 port=" + std::to_string(port_) +
         " user=kmse dbname=postgres connect_timeout=2";
}

bool PostgresServer::Stop() {
  if (pid_ <= 0) return true;
  ::kill(pid_, SIGINT);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return true;
}

bool PostgresServer::StartAgain() { return pid_ > 0 || Launch(); }

PostgresServer::~PostgresServer() {
  Stop();
  std::error_code ec;
  if (!root_.empty()) std::filesystem::remove_all(root_, ec);
}

}  // namespace branch_testing
}  // namespace kms_envelope
