#include "kms_envelope/cli/cli_common.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace cli {
namespace {

// The message without the "Code: " prefixes KmsError (and callers re-wrapping) put in front.
std::string MessageWithoutCode(const absl::Status& status, const std::string& code) {
  absl::string_view message = status.message();
  const std::string prefix = code + ": ";
  while (absl::StartsWith(message, prefix)) message.remove_prefix(prefix.size());
  return std::string(message);
}

int WriteError(nlohmann::json error) {
  // stderr is unbuffered; a failure to write there has nowhere left to be reported.
  const std::string line = DumpJson(error) + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
  return kExitError;
}

}  // namespace

int ReportError(const absl::Status& status) {
  const std::string code = KmsCodeOrDefault(status);
  return WriteError({{"Code", code}, {"Message", MessageWithoutCode(status, code)}});
}

int ReportUnprinted(const absl::Status& status, const nlohmann::json& result) {
  const std::string code = KmsCodeOrDefault(status);
  return WriteError({{"Code", code},
                     {"Message", absl::StrCat("the command succeeded but its result could not be "
                                              "written to stdout: ",
                                              MessageWithoutCode(status, code))},
                     {"Result", result}});
}

std::string DumpJson(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::Status PrintJson(const nlohmann::json& value) {
  const std::string line = DumpJson(value) + "\n";
  errno = 0;
  const bool ok = std::fwrite(line.data(), 1, line.size(), stdout) == line.size() &&
                  std::fflush(stdout) == 0;
  if (ok) return absl::OkStatus();
  const int err = errno;
  std::clearerr(stdout);
  return KmsError(cli_code::kWriteFailed,
                  absl::StrCat("cannot write to stdout: ",
                               err != 0 ? std::strerror(err) : "write failed"));
}

int PrintStateResult(const nlohmann::json& result) {
  absl::Status printed = PrintJson(result);
  return printed.ok() ? kExitOk : ReportUnprinted(printed, result);
}

int FinishCommand(const absl::StatusOr<nlohmann::json>& result) {
  if (!result.ok()) return ReportError(result.status());
  if (result->is_null()) return kExitOk;
  return PrintStateResult(*result);
}

void ReportNote(const std::string& note) {
  const std::string line = DumpJson({{"Note", note}}) + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

bool IsUtf8(std::string_view s) {
  try {
    (void)nlohmann::json(std::string(s)).dump();
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

CLI::App* AddCommandGroup(CLI::App& app, const std::string& name, const std::string& help) {
  CLI::App* group = app.add_subcommand(name, help);
  group->require_subcommand(1);
  return group;
}

}  // namespace cli
}  // namespace kms_envelope
