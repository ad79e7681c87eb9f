// Re-wrap sealed files in place without re-encrypting their payload.
//
//   EnvelopeOptions o;                       // the NEW wrapping keys
//   o.primary = {provider, "new-cmk-guid"};
//   o.decrypt_providers = {old_provider};    // whatever can unwrap the current header
//   KMS_ASSIGN_OR_RETURN(auto env, Envelope::New(std::move(o)));
//   KMS_RETURN_IF_ERROR(RewrapFile(*env, "/data/backup.kmse", nullptr));
//   KMS_ASSIGN_OR_RETURN(RewrapDirectoryResult r, RewrapDirectory(*env, "/data", nullptr));
//
// RewrapFile replaces the header's wrapped keys with the envelope's primary + additional CMKs
// (Envelope::RewrapHeader: ReEncrypt where the provider has it, else Decrypt + Encrypt). The
// payload frames are copied byte for byte and are not decrypted: the header (commitment and tag)
// is verified, a corrupted payload is carried over unchanged and fails when it is opened. Crash safety: the new file is written as
// an unnamed file (O_TMPFILE, internal/unnamed_file.h) in the same directory with the original's
// mode, fsync'ed, renamed over the original, and the directory is fsync'ed; at any instant the
// path holds either the old or the new complete file, and a kill leaves no temporary behind.
//
// RewrapDirectory handles the regular files directly in `dir` (not recursive) that start with the
// envelope magic; other files are counted and left alone. Progress is journaled in
// `dir/.kmse-rewrap.journal` (first line: the target key list; then one finished file name per
// line, fsync'ed), so a run that was interrupted (or failed on some files) resumes where it
// stopped when run again with the same targets; `.<name>.kmse-rewrap.tmp` files left by older
// versions are removed first, and writers' hidden `*.kmse-tmp-*` names are skipped. The
// journal is deleted once every envelope file is done. A journal for other targets is ignored.
//
// Thread safety: none across calls on the same directory (one rewrap per directory at a time).
#ifndef KMS_ENVELOPE_ENVELOPE_REWRAP_H_
#define KMS_ENVELOPE_ENVELOPE_REWRAP_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/envelope/envelope.h"

namespace kms_envelope {
namespace envelope {

inline constexpr char kRewrapTempSuffix[] = ".kmse-rewrap.tmp";
inline constexpr char kRewrapJournalName[] = ".kmse-rewrap.journal";

[[nodiscard]] absl::Status RewrapFile(const Envelope& envelope, const std::string& path,
                                      const EncryptionContext* expected_context);

struct RewrapDirectoryResult {
  size_t rewrapped = 0;
  size_t already_done = 0;    // skipped thanks to the journal
  size_t not_envelopes = 0;   // files without the envelope magic (left alone)
  std::vector<std::string> failed;  // "name: error"
};

// OK status with a result even when some files failed (see `failed`); an error status only when
// the directory itself cannot be processed.
[[nodiscard]] absl::StatusOr<RewrapDirectoryResult> RewrapDirectory(
    const Envelope& envelope, const std::string& dir, const EncryptionContext* expected_context);

}  // namespace envelope
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_ENVELOPE_REWRAP_H_
