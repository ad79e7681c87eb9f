// The RocksDB info log (`LOG`) written through the encrypted Env, like every other file.
//
//   std::unique_ptr<rocksdb::Env> env(rocksdb::NewEncryptedEnv(rocksdb::Env::Default(), provider));
//   rocksdb::Options options;
//   options.env = env.get();
//   KMS_RETURN_IF_ERROR(UseEncryptedInfoLog(path, &options));   // before DB::Open
//   rocksdb::DB::Open(options, path, &db);
//
// Why: RocksDB 7.8's encrypted Env forwards NewLogger to the base Env, so the default info log
// is written in clear, and it is not only options and statistics: a manual compaction of a key
// range logs the range's boundary keys in hex ("Manual compaction from level-0 to level-1 from
// 'user-key-...' seq:..."), and other messages may carry keys too
// (//tests/rocksdb:rocksdb_integration_test found the first). With this call the log is a
// regular encrypted file (kms_envelope header, fresh data key) created through
// `options->env`'s file system by RocksDB's own EnvLogger.
//
// Contract:
// - `options->env` must be the encrypted Env the database uses (it must outlive the logger).
// - Creates `db_path` if missing. An existing `LOG` is renamed to `LOG.old.<microseconds>`
//   first, as RocksDB does; older logs written in clear stay as they were (delete them).
// - Sets `options->info_log` (RocksDB then ignores db_log_dir and does no size- or time-based
//   rotation of it; max_log_file_size, log_file_time_to_roll and keep_log_file_num do not apply)
//   at `options->info_log_level`.
// - Read the log with any tool that opens files through the same encrypted Env and KMS.
// - Errors: the rocksdb::Status of the failed call, as absl Internal / FailedPrecondition.
#ifndef KMS_ENVELOPE_ROCKSDB_ENCRYPTED_INFO_LOG_H_
#define KMS_ENVELOPE_ROCKSDB_ENCRYPTED_INFO_LOG_H_

#include <string>

#include "absl/status/status.h"
#include "rocksdb/options.h"

namespace kms_envelope {
namespace rocksdb_encryption {

// The info log's file name inside the database directory (RocksDB's default).
inline constexpr char kInfoLogFileName[] = "LOG";

[[nodiscard]] absl::Status UseEncryptedInfoLog(const std::string& db_path,
                                               ::rocksdb::Options* options);

}  // namespace rocksdb_encryption
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_ROCKSDB_ENCRYPTED_INFO_LOG_H_
