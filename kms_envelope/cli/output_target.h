// Where `encrypt`, `decrypt` (and friends) write: stdout, a regular file replaced atomically, or
// an existing device, FIFO or /proc/self/fd/N written in place, decided before any input is read.
//
//   KMS_ASSIGN_OR_RETURN(OutputPlan plan, PlanOutput(args.output));   // lstat only, no writes
//   ... open the input ...
//   KMS_ASSIGN_OR_RETURN(CommandOutput out, CommandOutput::Open(plan));
//   ... stream into out.fd() ...
//   KMS_RETURN_IF_ERROR(out.Commit());   // a regular file appears only now
//
// The rules, as `cp` and `dd` users expect, and why:
// - "-" is stdout.
// - A new name or an existing regular file: the output is written as an unnamed file in the same
//   directory (internal/unnamed_file.h) and linked into place only after the whole stream
//   succeeded (a failed decrypt never leaves plaintext of an unauthenticated message). The new
//   file is owner-only (0600): an existing file with another mode is reported (Note on stderr).
// - A symlink is followed, as cp and dd do: the target is replaced in its own directory (the
//   link stays a link) or, when it is not a regular file, written in place. A dangling symlink
//   is refused (like GNU cp: writing through it would create a file wherever it points).
// - A character or block device or a FIFO is opened and written in place, streaming, exactly
//   like stdout: decrypt writes only frames whose tag verified, and a failure mid-stream exits
//   non-zero after them. It is never unlinked, truncated or renamed over. A UNIX socket cannot
//   be open(2)ed and gets InvalidParameter.OutputPath.
// - /dev/stdout, /dev/fd/N, /proc/self/fd/N (a link into this process's descriptor table) is
//   that descriptor, used as it is (duplicated: same offset, O_APPEND kept) whatever it is open
//   on, even a regular file: `decrypt -o /dev/stdout >> log` appends like `decrypt >> log`.
// - "", a directory, a path ending in "/", a missing parent directory: InvalidParameter.OutputPath.
// Thread safety: none (one command's output).
#ifndef KMS_ENVELOPE_CLI_OUTPUT_TARGET_H_
#define KMS_ENVELOPE_CLI_OUTPUT_TARGET_H_

#include <sys/types.h>

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kms_envelope/internal/unnamed_file.h"

namespace kms_envelope {
namespace cli {

struct OutputPlan {
  enum class Kind { kStdout, kReplaceFile, kInPlace };
  Kind kind = Kind::kStdout;
  std::string path;          // as given
  std::string file_path;     // kReplaceFile: the file to replace (a symlink's target)
  bool existed = false;      // kReplaceFile: a regular file is there now
  mode_t previous_mode = 0;  // its permission bits
  int descriptor = -1;       // kInPlace through /proc/self/fd/N (/dev/stdout): N
};

// Decides where `path` goes; InvalidParameter.OutputPath when it cannot be written.
[[nodiscard]] absl::StatusOr<OutputPlan> PlanOutput(const std::string& path);

class CommandOutput {
 public:
  // The unnamed file for kReplaceFile, the opened path for kInPlace, stdout for kStdout.
  [[nodiscard]] static absl::StatusOr<CommandOutput> Open(const OutputPlan& plan);

  CommandOutput(CommandOutput&& other) noexcept;
  CommandOutput& operator=(CommandOutput&&) = delete;
  CommandOutput(const CommandOutput&) = delete;
  ~CommandOutput();

  int fd() const { return fd_; }
  // The output is this process's stdout (kStdout, or e.g. -o /dev/stdout): the command prints
  // no JSON summary there, as for "-".
  bool is_stdout() const { return is_stdout_; }
  // kReplaceFile: links the file into place; kInPlace: closes (reporting a close error).
  [[nodiscard]] absl::Status Commit();

 private:
  CommandOutput() = default;
  OutputPlan plan_;
  std::optional<internal::UnnamedFile> file_;  // uncommitted: released (and gone) on destruction
  int fd_ = -1;
  bool owns_fd_ = false;  // kInPlace
  bool is_stdout_ = false;
};

}  // namespace cli
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_CLI_OUTPUT_TARGET_H_
