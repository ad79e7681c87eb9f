// Fuzz target: the kms-envelope command line (kms_envelope/cli/cli_app.h): CLI11 parsing, the
// one-value-per-option and UTF-8 rules, the usage-error JSON, and the commands behind them
// (key store, encrypt/decrypt/inspect/rewrap on files, datakey) on a scratch local key store.
//
// Input: the arguments after the program name, separated by NUL bytes.
// Sandbox: everything happens in a private temp directory (the working directory, HOME and
// KMS_ENVELOPE_HOME point there; stdin is an empty file there; stdout and stderr go to files
// there while a command runs; the working directory is switched to it only for the run), wiped
// every kWipeEvery inputs. Inputs that could leave it or
// block are skipped: an argument that starts with '/' or '~' or contains "..", and the words
// "serve" (listens forever), "endpoint" (network), "passphrase" (Argon2id: seconds per run).
// Invariants:
// - RunCli returns (no crash, no sanitizer report) with exit status 0, 1 or 2;
// - no exception reached RunCli's last-resort handler ("unexpected error");
// - a non-zero exit printed a JSON error object with "Code" and "Message" on stderr.
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "kms_envelope/cli/cli_app.h"
#include "nlohmann/json.hpp"

// Sanitizer reports must reach the real stderr, not the capture file (no-op without ASan).
extern "C" void __sanitizer_set_report_fd(void* fd) __attribute__((weak));

namespace {

constexpr size_t kMaxArgs = 32;
constexpr size_t kMaxArgSize = 4096;
constexpr uint64_t kWipeEvery = 256;

std::string g_dir;
int g_saved_stdout = -1;
int g_saved_stderr = -1;
int g_saved_cwd = -1;  // the replay test reads its corpus relative to it
int g_dir_fd = -1;
uint64_t g_runs = 0;

bool Allowed(const std::string& arg) {
  if (arg.size() > kMaxArgSize) return false;
  if (!arg.empty() && (arg[0] == '/' || arg[0] == '~')) return false;
  for (const char* word : {"..", "serve", "endpoint", "passphrase"}) {
    if (arg.find(word) != std::string::npos) return false;
  }
  return true;
}

void Wipe() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(g_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name != "stdin" && name != "stdout" && name != "stderr") {
      std::filesystem::remove_all(entry.path(), ec);
    }
  }
}

int OpenCapture(const char* name) {
  return ::open((g_dir + "/" + name).c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
}

std::string ReadCapturedStderr() {
  std::ifstream in(g_dir + "/stderr", std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool HasJsonError(const std::string& err) {
  size_t start = 0;
  while (start < err.size()) {
    size_t end = err.find('\n', start);
    if (end == std::string::npos) end = err.size();
    const auto line = nlohmann::json::parse(err.substr(start, end - start), nullptr, false);
    if (line.is_object() && line.contains("Code") && line.contains("Message")) return true;
    start = end + 1;
  }
  return false;
}

// Runs RunCli with stdout and stderr sent to the capture files.
int RunCaptured(std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int out = OpenCapture("stdout");
  const int err = OpenCapture("stderr");
  std::fflush(stdout);
  std::fflush(stderr);
  ::dup2(out, STDOUT_FILENO);
  ::dup2(err, STDERR_FILENO);
  ::close(out);
  ::close(err);
  ::lseek(STDIN_FILENO, 0, SEEK_SET);
  FUZZ_CHECK(::fchdir(g_dir_fd) == 0);
  const int rc = kms_envelope::cli::RunCli(static_cast<int>(args.size()), argv.data());
  FUZZ_CHECK(::fchdir(g_saved_cwd) == 0);
  std::fflush(stdout);
  std::fflush(stderr);
  ::dup2(g_saved_stdout, STDOUT_FILENO);
  ::dup2(g_saved_stderr, STDERR_FILENO);
  return rc;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/kms-cli-fuzz-XXXXXX";
  FUZZ_CHECK(::mkdtemp(pattern.data()) != nullptr);
  g_dir = pattern;
  g_saved_cwd = ::open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  g_dir_fd = ::open(g_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  FUZZ_CHECK(g_saved_cwd >= 0 && g_dir_fd >= 0);
  ::setenv("HOME", g_dir.c_str(), 1);
  ::setenv("KMS_ENVELOPE_HOME", (g_dir + "/home").c_str(), 1);
  ::unsetenv("ALIBABA_CLOUD_ACCESS_KEY_ID");
  const int in = OpenCapture("stdin");
  FUZZ_CHECK(in >= 0);
  ::dup2(in, STDIN_FILENO);
  ::close(in);
  g_saved_stdout = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  g_saved_stderr = ::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
  if (__sanitizer_set_report_fd != nullptr) {
    __sanitizer_set_report_fd(reinterpret_cast<void*>(static_cast<intptr_t>(g_saved_stderr)));
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> args = {"kms-envelope"};
  std::string current;
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == '\0') {
      args.push_back(std::move(current));
      current.clear();
    } else {
      current.push_back(static_cast<char>(data[i]));
    }
  }
  args.push_back(std::move(current));
  if (args.size() > kMaxArgs + 1) return 0;
  for (size_t i = 1; i < args.size(); ++i) {
    if (!Allowed(args[i])) return 0;
  }
  if (++g_runs % kWipeEvery == 0) Wipe();
  const int rc = RunCaptured(args);
  FUZZ_CHECK(rc == 0 || rc == 1 || rc == 2);
  const std::string err = ReadCapturedStderr();
  // The catch-all's text must never appear unless an argument brought it (usage errors echo
  // the arguments they refuse).
  bool echoed = false;
  for (const std::string& a : args) echoed |= a.find("unexpected error") != std::string::npos;
  if (!echoed) FUZZ_CHECK(err.find("unexpected error") == std::string::npos);
  if (rc != 0) FUZZ_CHECK(HasJsonError(err));
  return 0;
}
