// kms-envelope rewrap: new wrapped keys for sealed files, payload untouched (envelope/rewrap.h).
//
//   kms-envelope rewrap --key-id <new-guid> db.kmse backups/            # files, directories
//   kms-envelope rewrap --recursive --key-id alias/backup /srv/archive  # the whole tree
//
// Prints one JSON summary: {"Rewrapped", "AlreadyCurrent", "Skipped", "Failed"} counts and the
// skipped and failed files by name (with the reason / error code). Exit 1 when any file failed,
// after the summary. Symbolic links are never followed; a rerun after a kill resumes (files
// already under the targets count as AlreadyCurrent and are not rewritten).
//
// KMS_ENVELOPE_TEST_STOP_AFTER_REWRAPS=N (fault injection for tests): once N files are
// rewrapped, the process stops itself (SIGSTOP) in the middle of the next one, its new contents
// written but not yet in place, so a test can SIGKILL it at that known point. A value that is
// not a number is refused.
#include <signal.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "kms_envelope/cli/cli_common.h"
#include "kms_envelope/cli/cli_streams.h"
#include "kms_envelope/cli/envelope_args.h"
#include "kms_envelope/envelope/envelope.h"
#include "kms_envelope/envelope/rewrap.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace cli {
namespace {

constexpr char kStopAfterEnv[] = "KMS_ENVELOPE_TEST_STOP_AFTER_REWRAPS";

absl::StatusOr<std::unique_ptr<envelope::Envelope>> RewrapEnvelope(const GlobalOptions& global,
                                                                   const EnvelopeArgs& args) {
  KMS_ASSIGN_OR_RETURN(EncryptionContext required, ParseContextArgs(args.context));
  KMS_ASSIGN_OR_RETURN(std::shared_ptr<KeyProvider> provider, SharedProvider(global));
  envelope::EnvelopeOptions o;
  o.primary = {provider, args.key_id};
  for (const auto& k : args.additional_key_ids) o.additional.push_back({provider, k});
  o.allowed_key_ids = args.allowed_key_ids;
  o.required_context = required;
  return envelope::Envelope::New(std::move(o));
}

// The fault-injection point of the resume test (see the file comment); nullopt when unset.
absl::StatusOr<std::optional<size_t>> StopAfter() {
  const char* value = std::getenv(kStopAfterEnv);
  if (value == nullptr) return std::optional<size_t>();
  size_t n = 0;
  if (!absl::SimpleAtoi(value, &n)) {
    return KmsError(kms_code::kInvalidParameter, absl::StrCat(kStopAfterEnv, " is not a number"));
  }
  return std::optional<size_t>(n);
}

// A failed file's code: the KMS code where the error has one; a path that cannot be opened or
// listed (missing, no permission) is InvalidParameter.InputPath.
std::string FailureCode(const absl::Status& status) {
  std::string code = GetKmsErrorCode(status);
  if (!code.empty()) return code;
  if (absl::IsNotFound(status) || absl::IsPermissionDenied(status)) {
    return std::string(cli_code::kInputPath);
  }
  return KmsCodeOrDefault(status);
}

nlohmann::json ReportJson(const envelope::RewrapReport& r) {
  nlohmann::json skipped = nlohmann::json::array();
  for (const auto& e : r.skipped) skipped.push_back({{"Path", e.path}, {"Reason", e.reason}});
  nlohmann::json failed = nlohmann::json::array();
  for (const auto& e : r.failed) {
    failed.push_back({{"Path", e.path},
                      {"Code", FailureCode(e.status)},
                      {"Message", std::string(e.status.message())}});
  }
  return nlohmann::json{{"Rewrapped", r.rewrapped},        {"AlreadyCurrent", r.already_current},
                        {"Skipped", r.skipped.size()},     {"Failed", r.failed.size()},
                        {"SkippedFiles", std::move(skipped)}, {"FailedFiles", std::move(failed)}};
}

int RunRewrap(const GlobalOptions& global, const EnvelopeArgs& args) {
  absl::StatusOr<std::optional<size_t>> stop_after = StopAfter();
  if (!stop_after.ok()) return ReportError(stop_after.status());
  absl::StatusOr<std::unique_ptr<envelope::Envelope>> env = RewrapEnvelope(global, args);
  if (!env.ok()) return ReportError(env.status());
  ProgressLine progress(WantProgress(args.progress), ProgressLine::Unit::kFiles, 0);
  envelope::RewrapOptions options;
  options.recursive = args.recursive;
  options.on_start = [&progress](size_t files) { progress.SetTotal(files); };
  options.on_file = [&progress](size_t) { progress.Add(1); };
  if (*stop_after) {
    options.before_replace = [&stop_after](size_t rewrapped) {
      if (*stop_after && rewrapped == **stop_after) {
        stop_after->reset();
        ::raise(SIGSTOP);
      }
    };
  }
  absl::StatusOr<envelope::RewrapReport> report = envelope::RewrapPaths(**env, args.paths, options);
  if (!report.ok()) return ReportError(report.status());
  progress.Finish("processed");
  const int printed = PrintStateResult(ReportJson(*report));
  if (printed != kExitOk || report->failed.empty()) return printed;
  return ReportError(KmsError(kms_code::kInvalidParameter,
                              absl::StrCat(report->failed.size(),
                                           " file(s) could not be rewrapped (see FailedFiles)")));
}

}  // namespace

void RegisterRewrapCommand(CLI::App& app, GlobalOptions& options) {
  auto args = std::make_shared<EnvelopeArgs>();
  CLI::App* rew = app.add_subcommand(
      "rewrap", "replace the wrapped data keys of sealed files (payload untouched)");
  rew->add_option("paths", args->paths, "sealed files and/or directories")
      ->required()
      ->type_name(kPathType);
  rew->add_option("--key-id", args->key_id, "new primary CMK GUID or alias/<name>")->required();
  rew->add_option("--additional-key-id", args->additional_key_ids,
                  "also wrap under this CMK (repeatable)");
  rew->add_flag("-r,--recursive", args->recursive,
                "descend into subdirectories (symbolic links are never followed)");
  AddCommonEnvelopeFlags(rew, *args);
  AddProgressFlags(rew, *args);
  rew->callback([&options, args]() { options.exit_code = RunRewrap(options, *args); });
}

}  // namespace cli
}  // namespace kms_envelope
