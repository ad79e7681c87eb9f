// A real PostgreSQL server for tests, from Debian's `postgresql` package: initdb in a fresh
// temporary directory, `postgres` listening on a free loopback port (no Unix socket), stopped
// and removed when the object goes. Stop()/Start() restart it on the same port and data.
//
// PostgreSQL refuses to run as root. When the test runs as root (CI does), initdb and postgres
// run as the `postgres` system user (created by the package; fork + setgid/setuid, no sudo),
// and the data directory is made under /tmp (mkdtemp) instead of $TEST_TMPDIR, because Bazel's
// sandbox lives under /root, which that user cannot enter.
#ifndef KMS_ENVELOPE_TESTS_BRANCH_POSTGRES_SERVER_H_
#define KMS_ENVELOPE_TESTS_BRANCH_POSTGRES_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>

namespace kms_envelope {
namespace branch_testing {

class PostgresServer {
 public:
  // Null (the reason on stderr) when no PostgreSQL is installed or it does not start.
  static std::unique_ptr<PostgresServer> Start();
  ~PostgresServer();

  // libpq connection string for the superuser `kmse` on database `postgres`.
  std::string conninfo() const;
  int port() const { return port_; }
  // Fast shutdown (SIGINT), waits for the process to end.
  bool Stop();
  // Starts it again on the same port and data directory; waits until it accepts connections.
  bool StartAgain();

 private:
  PostgresServer() = default;
  bool Launch();
  std::string bin_, data_, root_;
  int port_ = 0;
  pid_t pid_ = -1;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  bool drop_privileges_ = false;
};

}  // namespace branch_testing
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_TESTS_BRANCH_POSTGRES_SERVER_H_
