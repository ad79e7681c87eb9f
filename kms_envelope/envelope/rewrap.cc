#include "kms_envelope/envelope/rewrap.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/internal/unnamed_file.h"

namespace kms_envelope {
namespace envelope {
namespace {

absl::Status Errno(std::string_view what, const std::string& path) {
  return absl::DataLossError(
      absl::StrCat(internal::Av(what), " ", path, ": ", std::strerror(errno)));
}

// Closes a descriptor on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string TargetsFingerprint(const Envelope& envelope) {
  const EnvelopeOptions& o = envelope.options();
  std::string s = "targets";
  auto add = [&](const WrappingKey& k) {
    absl::StrAppend(&s, " ", internal::Av(k.provider->provider_id()), ":", k.key_id);
  };
  add(o.primary);
  for (const auto& k : o.additional) add(k);
  return s;
}

bool HasEnvelopeMagic(const std::string& path) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) return false;
  uint8_t magic[4];
  return ::pread(f.fd, magic, 4, 0) == 4 && std::memcmp(magic, kMagic, 4) == 0;
}

}  // namespace

absl::Status RewrapFile(const Envelope& envelope, const std::string& path,
                        const EncryptionContext* expected_context) {
  Fd in{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (in.fd < 0) return Errno("open", path);
  struct stat st;
  if (::fstat(in.fd, &st) != 0) return Errno("stat", path);
  FdSource source(in.fd);
  std::string header_bytes;
  KMS_ASSIGN_OR_RETURN(ParsedHeader parsed, Envelope::ReadHeader(source, &header_bytes));
  (void)parsed;
  size_t old_header_size = 0;
  KMS_ASSIGN_OR_RETURN(std::string new_header,
                       envelope.RewrapHeader(internal::Bytes(header_bytes), expected_context,
                                             &old_header_size));
  // The new file has no name until it is complete (O_TMPFILE): a kill leaves the old file and
  // nothing else. Same mode as the original.
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  absl::StatusOr<internal::UnnamedFile> out = internal::UnnamedFile::Create(
      dir, std::filesystem::path(path).filename().string() + ".kmse-rewrap", st.st_mode & 07777);
  if (!out.ok()) return out.status();
  FdSink sink(out->fd());
  KMS_RETURN_IF_ERROR(sink.Write(internal::Bytes(new_header)));
  // Copy the payload unchanged.
  std::vector<uint8_t> buf(1 << 20);
  uint64_t offset = old_header_size;
  for (;;) {
    ssize_t n = ::pread(in.fd, buf.data(), buf.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("read", path);
    }
    if (n == 0) break;
    KMS_RETURN_IF_ERROR(sink.Write(absl::MakeConstSpan(buf.data(), static_cast<size_t>(n))));
    offset += static_cast<uint64_t>(n);
  }
  return out->Replace(path);  // fsync, rename over the original, fsync the directory
}

absl::StatusOr<RewrapDirectoryResult> RewrapDirectory(const Envelope& envelope,
                                                      const std::string& dir,
                                                      const EncryptionContext* expected_context) {
  if (envelope.options().primary.provider == nullptr) {
    return absl::InvalidArgumentError("rewrap needs an envelope with a primary key");
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return absl::NotFoundError(absl::StrCat("not a directory: ", dir));
  const std::string journal_path = (fs::path(dir) / kRewrapJournalName).string();
  const std::string fingerprint = TargetsFingerprint(envelope);

  std::set<std::string> done;
  {
    std::ifstream journal(journal_path);
    std::string line;
    if (journal && std::getline(journal, line) && line == fingerprint) {
      while (std::getline(journal, line)) {
        if (!line.empty()) done.insert(line);
      }
    }
  }
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > std::strlen(kRewrapTempSuffix) &&
        name.compare(name.size() - std::strlen(kRewrapTempSuffix), std::string::npos,
                     kRewrapTempSuffix) == 0) {
      fs::remove(entry.path(), ec);  // stale temporary from an interrupted older version
      continue;
    }
    // A writer's hidden name for the microseconds between link and rename (unnamed_file.h):
    // not a file of its own.
    if (name.find(".kmse-tmp-") != std::string::npos) continue;
    if (name == kRewrapJournalName || !entry.is_regular_file(ec)) continue;
    names.push_back(name);
  }
  if (ec) return absl::DataLossError(absl::StrCat("cannot list ", dir, ": ", ec.message()));
  std::sort(names.begin(), names.end());

  // (Re)write the journal header, keeping the entries still valid.
  Fd journal{::open(journal_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
  if (journal.fd < 0) return Errno("create", journal_path);
  FdSink journal_sink(journal.fd);
  std::string head = fingerprint + "\n";
  for (const auto& n : done) head += n + "\n";
  KMS_RETURN_IF_ERROR(journal_sink.Write(internal::Bytes(head)));
  if (::fsync(journal.fd) != 0) return Errno("fsync", journal_path);

  RewrapDirectoryResult result;
  for (const std::string& name : names) {
    const std::string path = (fs::path(dir) / name).string();
    if (done.count(name) != 0) {
      ++result.already_done;
      continue;
    }
    if (name.find('\n') != std::string::npos) {
      result.failed.push_back("a file name with a newline cannot be journaled");
      continue;
    }
    if (!HasEnvelopeMagic(path)) {
      ++result.not_envelopes;
      continue;
    }
    absl::Status s = RewrapFile(envelope, path, expected_context);
    if (!s.ok()) {
      result.failed.push_back(absl::StrCat(name, ": ", s.message()));
      continue;
    }
    ++result.rewrapped;
    KMS_RETURN_IF_ERROR(journal_sink.Write(internal::Bytes(name + "\n")));
    if (::fsync(journal.fd) != 0) return Errno("fsync", journal_path);
  }
  if (result.failed.empty()) {
    ::unlink(journal_path.c_str());
    KMS_RETURN_IF_ERROR(internal::FsyncDirectory(dir));
  }
  return result;
}

}  // namespace envelope
}  // namespace kms_envelope
