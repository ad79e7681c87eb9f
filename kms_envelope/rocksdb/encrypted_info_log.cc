#include "kms_envelope/rocksdb/encrypted_info_log.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "rocksdb/env.h"

namespace kms_envelope {
namespace rocksdb_encryption {

absl::Status UseEncryptedInfoLog(const std::string& db_path, ::rocksdb::Options* options) {
  if (options == nullptr || options->env == nullptr) {
    return absl::FailedPreconditionError("UseEncryptedInfoLog needs options with the encrypted env");
  }
  ::rocksdb::Env* env = options->env;
  ::rocksdb::Status s = env->CreateDirIfMissing(db_path);
  if (!s.ok()) {
    return absl::InternalError(absl::StrCat("cannot create ", db_path, ": ", s.ToString()));
  }
  const std::string log = db_path + "/" + kInfoLogFileName;
  if (env->FileExists(log).ok()) {
    const std::string old = absl::StrCat(log, ".old.", env->NowMicros());
    s = env->RenameFile(log, old);
    if (!s.ok()) {
      return absl::InternalError(absl::StrCat("cannot rename ", log, ": ", s.ToString()));
    }
  }
  std::shared_ptr<::rocksdb::Logger> logger;
  // EnvLogger creates the file through env->GetFileSystem(): the encrypted file system.
  s = ::rocksdb::NewEnvLogger(log, env, &logger);
  if (!s.ok()) {
    return absl::InternalError(absl::StrCat("cannot create the info log ", log, ": ", s.ToString()));
  }
  logger->SetInfoLogLevel(options->info_log_level);
  options->info_log = std::move(logger);
  return absl::OkStatus();
}

}  // namespace rocksdb_encryption
}  // namespace kms_envelope
