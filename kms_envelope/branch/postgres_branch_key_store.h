// PostgresBranchKeyStore: a BranchKeyStore in PostgreSQL (libpq), shared by many hosts.
//
//   PostgresBranchKeyStoreOptions o;
//   o.conninfo = "host=db.internal dbname=app user=kmse connect_timeout=5";
//   KMS_ASSIGN_OR_RETURN(std::unique_ptr<PostgresBranchKeyStore> store,
//                        PostgresBranchKeyStore::Open(o));
//
// Contract: branch_key_store.h. Schema (created if missing, under an advisory lock so several
// hosts may start at once; docs/branch-keys.md, "PostgreSQL store"):
//   <prefix>_versions(branch_key_id text, version integer, cmk_key_id text, wrapped_key bytea,
//                     create_time text, PRIMARY KEY (branch_key_id, version))
//   <prefix>_keys(branch_key_id text PRIMARY KEY, active_version integer,
//                 FOREIGN KEY (branch_key_id, active_version) REFERENCES <prefix>_versions)
// PutActiveVersion is one transaction: lock the key's row (FOR UPDATE), check the version is
// the next one, insert it, point active_version at it, COMMIT. A lost race (unique violation,
// serialization failure) is Rejected.StateModifiedFailed. A client killed mid-transaction
// leaves nothing (the server rolls back); the foreign key means an active version always
// exists.
//
// Connection loss (server restart, network): the call reconnects and retries for up to
// `retry_for` (writes first check whether their version was committed before the connection
// dropped, so a retried write is never applied twice), then returns Unavailable
// (ServiceUnavailableTemporary). stats() counts reconnects.
//
// Thread safe: one connection, calls serialized (the hot path is in BranchKeyCache, not here).
#ifndef KMS_ENVELOPE_BRANCH_POSTGRES_BRANCH_KEY_STORE_H_
#define KMS_ENVELOPE_BRANCH_POSTGRES_BRANCH_KEY_STORE_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kms_envelope/branch/branch_key_store.h"

namespace kms_envelope {
namespace branch {

inline constexpr size_t kMaxTablePrefixSize = 40;

struct PostgresBranchKeyStoreOptions {
  std::string conninfo;  // libpq connection string or URI
  // Tables are <prefix>_keys and <prefix>_versions; [a-z_][a-z0-9_]* up to 40 characters.
  std::string table_prefix = "kmse_branch";
  std::chrono::milliseconds retry_for{5000};
};

struct PostgresStoreStats {
  uint64_t reconnects = 0;
  uint64_t retried_calls = 0;
};

class PostgresBranchKeyStore : public BranchKeyStore {
 public:
  // Connects (Unavailable when the server cannot be reached within retry_for) and creates the
  // tables when missing.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<PostgresBranchKeyStore>> Open(
      const PostgresBranchKeyStoreOptions& options);
  ~PostgresBranchKeyStore() override;

  [[nodiscard]] absl::Status PutActiveVersion(const BranchKeyVersion& version) override;
  [[nodiscard]] absl::StatusOr<BranchKeyVersion> GetActiveVersion(
      std::string_view branch_key_id) override;
  [[nodiscard]] absl::StatusOr<BranchKeyVersion> GetVersion(std::string_view branch_key_id,
                                                            uint32_t version) override;
  [[nodiscard]] absl::StatusOr<std::vector<BranchKeyVersion>> ListVersions(
      std::string_view branch_key_id) override;
  [[nodiscard]] absl::StatusOr<std::vector<std::string>> ListBranchKeyIds() override;

  PostgresStoreStats stats() const;

 private:
  struct Impl;
  explicit PostgresBranchKeyStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace branch
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_BRANCH_POSTGRES_BRANCH_KEY_STORE_H_
