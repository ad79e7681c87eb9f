// Re-wrap sealed files in place without re-encrypting their payload.
//
//   EnvelopeOptions o;                       // the NEW wrapping keys
//   o.primary = {provider, "new-cmk-guid"};
//   o.decrypt_providers = {old_provider};    // whatever can unwrap the current header
//   KMS_ASSIGN_OR_RETURN(auto env, Envelope::New(std::move(o)));
//   KMS_RETURN_IF_ERROR(RewrapFile(*env, "/data/backup.kmse", nullptr));
//   RewrapOptions options;
//   options.recursive = true;
//   KMS_ASSIGN_OR_RETURN(RewrapReport r, RewrapPaths(*env, {"/data"}, options));
//
// RewrapFile replaces the header's wrapped keys with the envelope's primary + additional CMKs
// (Envelope::RewrapHeader: ReEncrypt where the provider has it, else Decrypt + Encrypt). The
// payload frames are copied byte for byte and are not decrypted: the header (commitment and tag)
// is verified, a corrupted payload is carried over unchanged and fails when it is opened.
// Crash safety: the new file is written as an unnamed file (O_TMPFILE, internal/unnamed_file.h)
// in the same directory with the original's mode, fsync'ed, renamed over the original, and the
// directory is fsync'ed; at any instant the path holds either the old or the new complete file,
// and a kill leaves no temporary behind.
//
// RewrapPaths takes files and directories (the files directly in a directory, or the whole tree
// with `recursive`). It never follows a symbolic link: a link (to a file or a directory, inside
// the tree or out of it) is skipped with a note, as are FIFOs, sockets, devices and files that
// do not start with the envelope magic; directories are opened O_NOFOLLOW one level at a time and
// each file is opened O_NOFOLLOW|O_NONBLOCK through its directory's descriptor
// (/proc/self/fd/N/name), so a directory swapped for a link during the run cannot redirect it.
// Resuming: before anything is rewritten, the targets are resolved once (one
// GenerateDataKeyWithoutPlaintext per CMK: its GUID behind an alias and its current primary
// version); a file whose header already lists exactly those (provider, GUID, version) entries,
// in order, is "already current" and is not rewritten. A run killed at any point therefore
// resumes on the next run: the files it finished are current, the one it was writing still holds
// its complete old contents, and nothing is wrapped twice. (The check reads the header's key list
// without unwrapping; a tampered header still fails when the file is opened.) A key rotated
// between runs makes files not current again, as intended. Writers' hidden `*.kmse-tmp-*` names
// are ignored; temporaries (`*.kmse-rewrap.tmp`) and journals (`.kmse-rewrap.journal`) of older
// versions are removed.
// A file that fails (unreadable, corrupted header, KMS error) is counted and named with its
// error; the run goes on and the file is left as it was.
//
// Thread safety: none across calls on the same files (one rewrap of a tree at a time).
#ifndef KMS_ENVELOPE_ENVELOPE_REWRAP_H_
#define KMS_ENVELOPE_ENVELOPE_REWRAP_H_

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/envelope/envelope.h"
#include "kms_envelope/envelope/format.h"

namespace kms_envelope {
namespace envelope {

inline constexpr char kRewrapTempSuffix[] = ".kmse-rewrap.tmp";
inline constexpr char kRewrapJournalName[] = ".kmse-rewrap.journal";

[[nodiscard]] absl::Status RewrapFile(const Envelope& envelope, const std::string& path,
                                      const EncryptionContext* expected_context);

// One wrapped-key entry as a rewrap writes it today.
struct RewrapTarget {
  std::string provider_id;
  std::string key_id;          // the CMK GUID (an alias resolved)
  std::string key_version_id;  // the CMK's current primary version
};

// The envelope's primary + additional CMKs as they resolve now (one
// GenerateDataKeyWithoutPlaintext per CMK, nothing wrapped with it is kept).
[[nodiscard]] absl::StatusOr<std::vector<RewrapTarget>> ResolveRewrapTargets(
    const Envelope& envelope);

// Whether `header` already lists exactly `targets` (same order, provider, GUID and version).
bool IsRewrapCurrent(const MessageHeader& header, absl::Span<const RewrapTarget> targets);

struct RewrapEntry {
  std::string path;     // as given, joined with the path below it ("dir/sub/file")
  std::string reason;   // skipped: why
  absl::Status status;  // failed: the error (its message names the file as the system saw it)
};

struct RewrapReport {
  size_t rewrapped = 0;
  size_t already_current = 0;
  std::vector<RewrapEntry> skipped;  // links, non-regular files, files that are not sealed
  std::vector<RewrapEntry> failed;   // left unchanged
};

struct RewrapOptions {
  bool recursive = false;  // descend into subdirectories of directory arguments
  const EncryptionContext* expected_context = nullptr;
  // Progress: `on_start` once with the number of regular files found, `on_file` after each of
  // them (any outcome) with the count of rewrapped files so far.
  std::function<void(size_t files)> on_start;
  std::function<void(size_t rewrapped_so_far)> on_file;
  // Fault injection for tests: called when a file's new contents are complete (still unnamed)
  // and about to replace the original, with the count of files rewrapped before it.
  std::function<void(size_t rewrapped_so_far)> before_replace;
};

// OK with a report even when some files (or paths given: missing, unlistable) failed or were
// skipped; an error status only when the targets cannot be resolved (nothing was touched).
[[nodiscard]] absl::StatusOr<RewrapReport> RewrapPaths(const Envelope& envelope,
                                                       absl::Span<const std::string> paths,
                                                       const RewrapOptions& options);

}  // namespace envelope
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_ENVELOPE_REWRAP_H_
