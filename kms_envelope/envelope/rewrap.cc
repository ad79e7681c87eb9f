#include "kms_envelope/envelope/rewrap.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/internal/posix_io.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/internal/unnamed_file.h"

namespace kms_envelope {
namespace envelope {
namespace {

constexpr size_t kCopyBufferSize = 1 << 20;
constexpr char kProcFd[] = "/proc/self/fd";
constexpr char kNotFollowed[] = "symbolic link (not followed)";

using internal::Fd;

// A failed system call on `path` (the mapping is internal::ErrnoStatus's).
absl::Status Errno(std::string_view what, std::string_view path) {
  return internal::ErrnoStatus(errno, what, path);
}

bool HasSuffix(std::string_view s, std::string_view suffix) {
  return s.size() > suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string Join(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  return dir.back() == '/' ? dir + name : absl::StrCat(dir, "/", name);
}

std::string NotRegular(mode_t mode) {
  const char* kind = S_ISFIFO(mode)   ? "FIFO"
                     : S_ISSOCK(mode) ? "socket"
                     : S_ISCHR(mode)  ? "character device"
                     : S_ISBLK(mode)  ? "block device"
                                      : "special file";
  return absl::StrCat(kind, " (not a regular file)");
}

// The payload copy and the atomic replacement: `in` is the open original (its header already
// read into `header_bytes`), `dir` + `name` where it lives.
absl::Status RewrapOpened(const Envelope& envelope, int in, const struct stat& st,
                          const std::string& header_bytes, const std::string& dir,
                          const std::string& name, const EncryptionContext* expected_context,
                          const std::function<void()>& before_replace) {
  size_t old_header_size = 0;
  KMS_ASSIGN_OR_RETURN(std::string new_header,
                       envelope.RewrapHeader(internal::Bytes(header_bytes), expected_context,
                                             &old_header_size));
  // The new file has no name until it is complete (O_TMPFILE): a kill leaves the old file and
  // nothing else. Same mode as the original.
  KMS_ASSIGN_OR_RETURN(internal::UnnamedFile out,
                       internal::UnnamedFile::Create(dir, name + ".kmse-rewrap", st.st_mode & 07777));
  FdSink sink(out.fd());
  KMS_RETURN_IF_ERROR(sink.Write(internal::Bytes(new_header)));
  std::vector<uint8_t> buf(kCopyBufferSize);
  uint64_t offset = old_header_size;
  for (;;) {
    KMS_ASSIGN_OR_RETURN(size_t n,
                         internal::PreadFull(in, offset, absl::MakeSpan(buf), Join(dir, name)));
    KMS_RETURN_IF_ERROR(sink.Write(absl::MakeConstSpan(buf.data(), n)));
    offset += n;
    if (n < buf.size()) break;  // end of file
  }
  if (before_replace) before_replace();
  return out.Replace(Join(dir, name));  // fsync, rename over the original, fsync the directory
}

// Where a regular file to rewrap lives: re-opened through descriptors, never through links.
struct Candidate {
  std::string shown;              // for the report
  std::string root;               // a directory given (or an explicit file's parent)
  bool root_nofollow = false;     // the root is itself an argument: links there are skipped
  std::vector<std::string> dirs;  // below the root
  std::string name;
};

struct Walk {
  bool recursive = false;
  std::vector<Candidate> candidates;
  RewrapReport* report = nullptr;

  void Skip(std::string path, std::string reason) {
    report->skipped.push_back({std::move(path), std::move(reason), absl::OkStatus()});
  }
  void Fail(std::string path, absl::Status status) {
    report->failed.push_back({std::move(path), "", std::move(status)});
  }
};

absl::StatusOr<std::vector<std::string>> SortedNames(int dirfd, const std::string& shown) {
  DIR* d = ::fdopendir(::dup(dirfd));
  if (d == nullptr) return Errno("list", shown);
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

void ListDirectory(int dirfd, const std::string& shown, const Candidate& here, Walk& walk) {
  absl::StatusOr<std::vector<std::string>> names = SortedNames(dirfd, shown);
  if (!names.ok()) return walk.Fail(shown, names.status());
  for (const std::string& name : *names) {
    if (HasSuffix(name, kRewrapTempSuffix) || name == kRewrapJournalName) {
      ::unlinkat(dirfd, name.c_str(), 0);  // left by an older version; never user data
      continue;
    }
    // A writer's hidden name for the microseconds between link and rename (unnamed_file.h).
    if (name.find(".kmse-tmp-") != std::string::npos) continue;
    const std::string path = Join(shown, name);
    struct stat st;
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      walk.Fail(path, Errno("stat", path));
    } else if (S_ISLNK(st.st_mode)) {
      walk.Skip(path, kNotFollowed);
    } else if (S_ISREG(st.st_mode)) {
      Candidate c = here;
      c.shown = path;
      c.name = name;
      walk.candidates.push_back(std::move(c));
    } else if (!S_ISDIR(st.st_mode)) {
      walk.Skip(path, NotRegular(st.st_mode));
    } else if (!walk.recursive) {
      walk.Skip(path, "directory (not descended without --recursive)");
    } else {
      Fd sub(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (sub.get() < 0) {
        walk.Fail(path, Errno("open directory", path));
        continue;
      }
      Candidate below = here;
      below.dirs.push_back(name);
      ListDirectory(sub.get(), path, below, walk);
    }
  }
}

void AddArgument(std::string arg, Walk& walk) {
  while (arg.size() > 1 && arg.back() == '/') arg.pop_back();  // "dir/" would follow a link
  struct stat st;
  if (::lstat(arg.c_str(), &st) != 0) return walk.Fail(arg, Errno("stat", arg));
  if (S_ISLNK(st.st_mode)) return walk.Skip(arg, kNotFollowed);
  if (S_ISREG(st.st_mode)) {
    const size_t slash = arg.rfind('/');
    Candidate c;
    c.shown = arg;
    c.root = slash == std::string::npos ? "." : slash == 0 ? "/" : arg.substr(0, slash);
    c.name = slash == std::string::npos ? arg : arg.substr(slash + 1);
    walk.candidates.push_back(std::move(c));
    return;
  }
  if (!S_ISDIR(st.st_mode)) return walk.Skip(arg, NotRegular(st.st_mode));
  Fd dir(::open(arg.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (dir.get() < 0) return walk.Fail(arg, Errno("open directory", arg));
  Candidate root;
  root.root = arg;
  root.root_nofollow = true;
  ListDirectory(dir.get(), arg, root, walk);
}

// The candidate's directory, opened one level at a time without following a link.
absl::StatusOr<Fd> OpenParent(const Candidate& c) {
  const int root_flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (c.root_nofollow ? O_NOFOLLOW : 0);
  Fd dir(::open(c.root.c_str(), root_flags));
  if (dir.get() < 0) return Errno("open directory", c.root);
  for (const std::string& d : c.dirs) {
    Fd next(::openat(dir.get(), d.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (next.get() < 0) return Errno("open directory", c.shown);
    dir = std::move(next);
  }
  return dir;
}

// The directory as a path for the new file and the rename: through its descriptor
// (/proc/self/fd/N), so a link swapped in for a directory above cannot redirect them; the path as
// listed where /proc is not mounted.
std::string DirectoryPath(const Candidate& c, int dirfd) {
  if (::access(kProcFd, X_OK) == 0) return absl::StrCat(kProcFd, "/", dirfd);
  std::string path = c.root;
  for (const std::string& d : c.dirs) path = Join(path, d);
  return path;
}

enum class Outcome { kRewrapped, kCurrent, kSkipped };

// One candidate: skipped (with `reason`) when it is no longer a regular file or not sealed,
// current when its header lists the targets, else rewrapped. Errors are failures.
absl::StatusOr<Outcome> RewrapCandidate(const Envelope& envelope, const Candidate& c,
                                        absl::Span<const RewrapTarget> targets,
                                        const EncryptionContext* expected_context,
                                        const std::function<void()>& before_replace,
                                        std::string* reason) {
  KMS_ASSIGN_OR_RETURN(Fd dir, OpenParent(c));
  Fd in(::openat(dir.get(), c.name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (in.get() < 0) {
    if (errno != ELOOP) return Errno("open", c.shown);
    *reason = kNotFollowed;  // replaced by a link since it was listed
    return Outcome::kSkipped;
  }
  struct stat st;
  if (::fstat(in.get(), &st) != 0) return Errno("stat", c.shown);
  if (!S_ISREG(st.st_mode)) {
    *reason = NotRegular(st.st_mode);
    return Outcome::kSkipped;
  }
  uint8_t magic[sizeof(kMagic)];
  const ssize_t got = ::pread(in.get(), magic, sizeof(magic), 0);
  if (got < 0) return Errno("read", c.shown);
  if (static_cast<size_t>(got) != sizeof(magic) || std::memcmp(magic, kMagic, sizeof(magic)) != 0) {
    *reason = "not a sealed file (no envelope magic)";
    return Outcome::kSkipped;
  }
  FdSource source(in.get());
  std::string header_bytes;
  KMS_ASSIGN_OR_RETURN(ParsedHeader parsed, Envelope::ReadHeader(source, &header_bytes));
  if (IsRewrapCurrent(parsed.header, targets)) return Outcome::kCurrent;
  KMS_RETURN_IF_ERROR(RewrapOpened(envelope, in.get(), st, header_bytes,
                                   DirectoryPath(c, dir.get()), c.name, expected_context,
                                   before_replace));
  return Outcome::kRewrapped;
}

}  // namespace

absl::Status RewrapFile(const Envelope& envelope, const std::string& path,
                        const EncryptionContext* expected_context) {
  Fd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) return Errno("open", path);
  struct stat st;
  if (::fstat(in.get(), &st) != 0) return Errno("stat", path);
  FdSource source(in.get());
  std::string header_bytes;
  KMS_ASSIGN_OR_RETURN(ParsedHeader parsed, Envelope::ReadHeader(source, &header_bytes));
  (void)parsed;
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  return RewrapOpened(envelope, in.get(), st, header_bytes, dir, name, expected_context, nullptr);
}

absl::StatusOr<std::vector<RewrapTarget>> ResolveRewrapTargets(const Envelope& envelope) {
  const EnvelopeOptions& o = envelope.options();
  if (o.primary.provider == nullptr) {
    return absl::InvalidArgumentError("rewrap needs an envelope with a primary key");
  }
  std::vector<const WrappingKey*> keys = {&o.primary};
  for (const WrappingKey& k : o.additional) keys.push_back(&k);
  std::vector<RewrapTarget> targets;
  for (const WrappingKey* k : keys) {
    GenerateDataKeyRequest request;
    request.key_id = k->key_id;
    KMS_ASSIGN_OR_RETURN(GenerateDataKeyWithoutPlaintextResponse r,
                         k->provider->GenerateDataKeyWithoutPlaintext(request));
    targets.push_back({std::string(k->provider->provider_id()), r.key_id, r.key_version_id});
  }
  return targets;
}

bool IsRewrapCurrent(const MessageHeader& header, absl::Span<const RewrapTarget> targets) {
  if (header.wrapped_keys.size() != targets.size()) return false;
  for (size_t i = 0; i < targets.size(); ++i) {
    const WrappedKey& w = header.wrapped_keys[i];
    const RewrapTarget& t = targets[i];
    if (w.provider_id != t.provider_id || w.key_id != t.key_id ||
        w.key_version_id != t.key_version_id) {
      return false;
    }
  }
  return true;
}

absl::StatusOr<RewrapReport> RewrapPaths(const Envelope& envelope,
                                         absl::Span<const std::string> paths,
                                         const RewrapOptions& options) {
  KMS_ASSIGN_OR_RETURN(std::vector<RewrapTarget> targets, ResolveRewrapTargets(envelope));
  RewrapReport report;
  Walk walk;
  walk.recursive = options.recursive;
  walk.report = &report;
  for (const std::string& path : paths) AddArgument(path, walk);
  if (options.on_start) options.on_start(walk.candidates.size());
  std::function<void()> before_replace;
  if (options.before_replace) before_replace = [&] { options.before_replace(report.rewrapped); };
  for (const Candidate& c : walk.candidates) {
    std::string reason;
    absl::StatusOr<Outcome> outcome = RewrapCandidate(envelope, c, targets, options.expected_context,
                                                      before_replace, &reason);
    if (!outcome.ok()) {
      walk.Fail(c.shown, outcome.status());
    } else if (*outcome == Outcome::kSkipped) {
      walk.Skip(c.shown, reason);
    } else {
      ++(*outcome == Outcome::kRewrapped ? report.rewrapped : report.already_current);
    }
    if (options.on_file) options.on_file(report.rewrapped);
  }
  return report;
}

}  // namespace envelope
}  // namespace kms_envelope
