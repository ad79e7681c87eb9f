// The byte streams of the file commands: the input opened with CLI error codes, sources and
// sinks that name the failing side (IOError.Read / IOError.Write), and the progress line.
//
//   uint64_t size = 0;
//   KMS_ASSIGN_OR_RETURN(int fd, OpenInput(args.input, &size));   // InvalidParameter.InputPath
//   FdSource raw(fd);
//   ProgressLine progress(WantProgress(args.progress), ProgressLine::Unit::kBytes, size);
//   CountingSource source(raw, &progress);
//   TaggedSink sink(out_fd);
//
// ProgressLine: one stderr line redrawn in place ("\r", at most every 100 ms): done/total, rate,
// ETA; Finish() prints a summary line. Disabled, it prints nothing. Never touches stdout.
// Not thread-safe.
#ifndef KMS_ENVELOPE_CLI_CLI_STREAMS_H_
#define KMS_ENVELOPE_CLI_CLI_STREAMS_H_

#include <chrono>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kms_envelope/envelope/byte_stream.h"

namespace kms_envelope {
namespace cli {

// --progress / --no-progress / neither (on when stderr is a terminal).
enum class ProgressMode { kAuto, kOn, kOff };
bool WantProgress(ProgressMode mode);

// Opens `path` for reading ("-" is stdin); *size is what is left to read when it (or stdin) is a
// regular file, else 0 (unknown).
[[nodiscard]] absl::StatusOr<int> OpenInput(const std::string& path, uint64_t* size);

class ProgressLine {
 public:
  enum class Unit { kBytes, kFiles };
  ProgressLine(bool enabled, Unit unit, uint64_t total);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // The total, once known (0: unknown, no percentage or ETA).
  void SetTotal(uint64_t total) { total_ = total; }
  void Add(uint64_t n);
  // Draws the final state and a summary line ("<verb> <done> in <secs> s (<rate>)").
  void Finish(const std::string& verb);

 private:
  void Draw(bool force);
  std::string Amount(double v) const;

  bool enabled_;
  Unit unit_;
  uint64_t total_;
  uint64_t done_ = 0;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

// Reads through `inner`, counting into `progress`; read errors become IOError.Read.
class CountingSource : public envelope::ByteSource {
 public:
  CountingSource(envelope::ByteSource& inner, ProgressLine* progress)
      : inner_(inner), progress_(progress) {}
  absl::StatusOr<size_t> Read(absl::Span<uint8_t> out) override;

 private:
  envelope::ByteSource& inner_;
  ProgressLine* progress_;
};

// Writes to a descriptor; write errors become IOError.Write.
class TaggedSink : public envelope::ByteSink {
 public:
  explicit TaggedSink(int fd) : inner_(fd) {}
  absl::Status Write(absl::Span<const uint8_t> data) override;

 private:
  envelope::FdSink inner_;
};

}  // namespace cli
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_CLI_CLI_STREAMS_H_
