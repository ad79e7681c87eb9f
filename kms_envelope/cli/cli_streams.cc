#include "kms_envelope/cli/cli_streams.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "kms_envelope/cli/cli_common.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace cli {
namespace {

constexpr auto kRedrawInterval = std::chrono::milliseconds(100);

std::string Duration(double secs) {
  const uint64_t s = static_cast<uint64_t>(secs + 0.5);
  if (s >= 3600) return absl::StrFormat("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
  return absl::StrFormat("%d:%02d", s / 60, s % 60);
}

}  // namespace

bool WantProgress(ProgressMode mode) {
  if (mode == ProgressMode::kAuto) return ::isatty(STDERR_FILENO) == 1;
  return mode == ProgressMode::kOn;
}

absl::StatusOr<int> OpenInput(const std::string& path, uint64_t* size) {
  *size = 0;
  if (path == "-") {
    // A regular file on stdin (`< file`) has a known size from where it is read on.
    struct stat st;
    if (::fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode)) {
      const off_t at = ::lseek(STDIN_FILENO, 0, SEEK_CUR);
      if (at >= 0 && at <= st.st_size) *size = static_cast<uint64_t>(st.st_size - at);
    }
    return STDIN_FILENO;
  }
  if (path.empty()) return KmsError(cli_code::kInputPath, "empty input path (use - for stdin)");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return KmsError(cli_code::kInputPath, absl::StrCat(path, ": ", std::strerror(errno)));
  struct stat st;
  if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    ::close(fd);
    return KmsError(cli_code::kInputPath, absl::StrCat(path, ": is a directory"));
  }
  if (S_ISREG(st.st_mode)) *size = static_cast<uint64_t>(st.st_size);
  return fd;
}

ProgressLine::ProgressLine(bool enabled, Unit unit, uint64_t total)
    : enabled_(enabled), unit_(unit), total_(total), start_(std::chrono::steady_clock::now()) {}

ProgressLine::~ProgressLine() {
  if (enabled_ && drawn_) std::fputs("\n", stderr);  // never leave the cursor mid-line
}

void ProgressLine::Add(uint64_t n) {
  done_ += n;
  if (enabled_) Draw(false);
}

std::string ProgressLine::Amount(double v) const {
  if (unit_ == Unit::kFiles) return absl::StrFormat("%.0f files", v);
  if (v >= (1 << 30)) return absl::StrFormat("%.2f GiB", v / (1 << 30));
  if (v >= (1 << 20)) return absl::StrFormat("%.1f MiB", v / (1 << 20));
  return absl::StrFormat("%.0f KiB", v / 1024);
}

void ProgressLine::Draw(bool force) {
  const auto now = std::chrono::steady_clock::now();
  if (!force && drawn_ && now - last_draw_ < kRedrawInterval) return;
  last_draw_ = now;
  drawn_ = true;
  const double secs = std::chrono::duration<double>(now - start_).count();
  const double rate = secs > 0 ? static_cast<double>(done_) / secs : 0;
  std::string line = Amount(static_cast<double>(done_));
  if (total_ > 0) {
    const uint64_t shown = done_ > total_ ? total_ : done_;
    line = absl::StrFormat("%3d%% %s of %s", static_cast<int>(shown * 100 / total_), line,
                           Amount(static_cast<double>(total_)));
  }
  absl::StrAppend(&line, "  ", Amount(rate), "/s");
  if (total_ > done_ && rate > 0) {
    absl::StrAppend(&line, "  ETA ", Duration(static_cast<double>(total_ - done_) / rate));
  }
  std::fprintf(stderr, "\r%s\x1b[K", line.c_str());  // \x1b[K: clear the rest of the line
  std::fflush(stderr);
}

void ProgressLine::Finish(const std::string& verb) {
  if (!enabled_) return;
  Draw(true);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = secs > 0 ? static_cast<double>(done_) / secs : 0;
  std::fprintf(stderr, "\n%s %s in %.1f s (%s/s)\n", verb.c_str(),
               Amount(static_cast<double>(done_)).c_str(), secs, Amount(rate).c_str());
  drawn_ = false;
}

absl::StatusOr<size_t> CountingSource::Read(absl::Span<uint8_t> out) {
  absl::StatusOr<size_t> n = inner_.Read(out);
  if (!n.ok()) return KmsError(cli_code::kReadFailed, internal::Sv(n.status().message()));
  if (progress_ != nullptr) progress_->Add(*n);
  return n;
}

absl::Status TaggedSink::Write(absl::Span<const uint8_t> data) {
  absl::Status s = inner_.Write(data);
  if (!s.ok()) return KmsError(cli_code::kWriteFailed, internal::Sv(s.message()));
  return absl::OkStatus();
}

}  // namespace cli
}  // namespace kms_envelope
