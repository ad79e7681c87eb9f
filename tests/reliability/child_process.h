// Runs a child process (the kms-envelope CLI) with captured output, optionally killed with
// SIGKILL after a delay or limited in file size (RLIMIT_FSIZE, SIGXFSZ ignored so writes fail
// with EFBIG like on a full disk). Test helper for tests/reliability.
#ifndef KMS_ENVELOPE_TESTS_RELIABILITY_CHILD_PROCESS_H_
#define KMS_ENVELOPE_TESTS_RELIABILITY_CHILD_PROCESS_H_

#include <sys/resource.h>

#include <cstdint>
#include <string>
#include <vector>

namespace kms_envelope {
namespace reliability {

struct ChildResult {
  bool killed = false;  // terminated by our SIGKILL (it had not exited before)
  int exit_code = -1;   // when it exited normally
  int signal = 0;       // when a signal ended it
  std::string out;      // everything written to stdout before it ended
  std::string err;
  double seconds = 0;
};

struct ChildOptions {
  int64_t kill_after_us = -1;              // < 0: never kill
  rlim_t file_size_limit = RLIM_INFINITY;  // RLIMIT_FSIZE in the child
};

ChildResult RunChild(const std::vector<std::string>& argv, const ChildOptions& options = {});

// The CLI under test: the runfiles path of //kms_envelope/cli:kms-envelope.
std::string CliPath();

// $TEST_TMPDIR/<name> (created empty).
std::string FreshDir(const std::string& name);

std::string ReadFileOrEmpty(const std::string& path);
bool FileExists(const std::string& path);
// Names in `dir` (no . and ..), sorted.
std::vector<std::string> ListDir(const std::string& dir);

}  // namespace reliability
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_TESTS_RELIABILITY_CHILD_PROCESS_H_
