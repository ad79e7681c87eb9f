#include "kms_envelope/branch/postgres_branch_key_store.h"

#include <postgresql/libpq-fe.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/internal/iso_time.h"

namespace kms_envelope {
namespace branch {
namespace {

using Clock = std::chrono::steady_clock;

// Owns a PGresult.
struct Result {
  PGresult* res = nullptr;
  explicit Result(PGresult* r) : res(r) {}
  Result(Result&& o) noexcept : res(std::exchange(o.res, nullptr)) {}
  Result& operator=(Result&&) = delete;
  ~Result() { PQclear(res); }
  int rows() const { return PQntuples(res); }
  std::string Get(int row, int col) const { return PQgetvalue(res, row, col); }
};

bool ValidPrefix(std::string_view p) {
  if (p.empty() || p.size() > kMaxTablePrefixSize || (p[0] >= '0' && p[0] <= '9')) return false;
  return std::all_of(p.begin(), p.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

absl::Status Unavailable(std::string_view why) {
  return KmsError(kms_code::kServiceUnavailableTemporary,
                  absl::StrCat("PostgreSQL unavailable: ", std::string(why)));
}

// Connection-class SQLSTATEs (08xxx) and shutdown/startup ones (57P01..57P03) mean "retry".
bool IsConnectionState(std::string_view state) {
  return state.substr(0, 2) == "08" || state == "57P01" || state == "57P02" || state == "57P03";
}

// Lost races: unique or foreign key violation, serialization failure, deadlock.
bool IsConflictState(std::string_view state) {
  return state == "23505" || state == "23503" || state == "40001" || state == "40P01";
}

// One libpq connection and the statements of the store.
class Connection {
 public:
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const std::string& conninfo,
                                                          const std::string& prefix) {
    auto c = std::unique_ptr<Connection>(new Connection());
    c->conn_ = PQconnectdb(conninfo.c_str());
    if (!c->ok()) {
      return Unavailable(c->conn_ != nullptr ? PQerrorMessage(c->conn_) : "out of memory");
    }
    // NOTICEs ("relation already exists, skipping") are not errors; keep them off stderr.
    PQsetNoticeProcessor(c->conn_, [](void*, const char*) {}, nullptr);
    c->keys_ = prefix + "_keys";
    c->versions_ = prefix + "_versions";
    return c;
  }
  ~Connection() { PQfinish(conn_); }
  bool ok() const { return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK; }
  const std::string& keys() const { return keys_; }
  const std::string& versions() const { return versions_; }

  // Runs one statement; params are text except the one at `binary_param` (bytea).
  absl::StatusOr<Result> Exec(const std::string& sql, const std::vector<std::string>& params = {},
                              int binary_param = -1) {
    std::vector<const char*> values;
    std::vector<int> lengths, formats;
    for (size_t i = 0; i < params.size(); ++i) {
      values.push_back(params[i].data());
      lengths.push_back(static_cast<int>(params[i].size()));
      formats.push_back(static_cast<int>(i) == binary_param ? 1 : 0);
    }
    Result r(PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                          values.data(), lengths.data(), formats.data(), 0));
    const ExecStatusType st = PQresultStatus(r.res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
    const char* state = PQresultErrorField(r.res, PG_DIAG_SQLSTATE);
    const std::string sqlstate = state != nullptr ? state : "";
    const std::string message = PQerrorMessage(conn_);
    if (!ok() || sqlstate.empty() || IsConnectionState(sqlstate)) return Unavailable(message);
    if (IsConflictState(sqlstate)) return absl::AbortedError(message);  // a lost race
    return absl::InternalError(absl::StrCat("PostgreSQL error ", sqlstate, ": ", message));
  }
  void Rollback() {
    if (ok()) PQclear(PQexec(conn_, "ROLLBACK"));
  }

 private:
  Connection() = default;
  PGconn* conn_ = nullptr;
  std::string keys_, versions_;
};

absl::Status CreateSchema(Connection& c, const std::string& prefix) {
  KMS_RETURN_IF_ERROR(c.Exec("BEGIN").status());
  // Several hosts starting at once: CREATE TABLE IF NOT EXISTS alone can race on the catalog.
  absl::Status s = c.Exec("SELECT pg_advisory_xact_lock(hashtext($1))", {prefix}).status();
  if (s.ok()) {
    s = c.Exec(absl::StrCat("CREATE TABLE IF NOT EXISTS ", c.versions(),
                            " (branch_key_id text NOT NULL, version integer NOT NULL CHECK "
                            "(version >= 1), cmk_key_id text NOT NULL, wrapped_key bytea NOT NULL, "
                            "create_time text NOT NULL, PRIMARY KEY (branch_key_id, version))"))
            .status();
  }
  if (s.ok()) {
    s = c.Exec(absl::StrCat("CREATE TABLE IF NOT EXISTS ", c.keys(),
                            " (branch_key_id text PRIMARY KEY, active_version integer NOT NULL, "
                            "FOREIGN KEY (branch_key_id, active_version) REFERENCES ",
                            c.versions(), " (branch_key_id, version))"))
            .status();
  }
  if (s.ok()) s = c.Exec("COMMIT").status();
  if (!s.ok()) c.Rollback();
  return s;
}

// Columns: version, cmk_key_id, wrapped_key (base64), create_time, active ('t'/'f').
std::string SelectVersions(const Connection& c, std::string_view where) {
  return absl::StrCat(
      "SELECT v.version, v.cmk_key_id, translate(encode(v.wrapped_key, 'base64'), E'\\n', ''), "
      "v.create_time, v.version = k.active_version FROM ",
      c.versions(), " v JOIN ", c.keys(), " k ON k.branch_key_id = v.branch_key_id WHERE ",
      std::string(where), " ORDER BY v.version");
}

absl::StatusOr<BranchKeyVersion> ParseRow(const Result& r, int row, std::string_view id) {
  BranchKeyVersion v;
  v.branch_key_id = std::string(id);
  const std::string number = r.Get(row, 0);
  char* end = nullptr;
  const unsigned long n = std::strtoul(number.c_str(), &end, 10);
  v.version = static_cast<uint32_t>(n);
  v.cmk_key_id = r.Get(row, 1);
  absl::StatusOr<std::string> wrapped = internal::Base64Decode(r.Get(row, 2), kMaxWrappedKeySize);
  v.create_time = r.Get(row, 3);
  v.active = r.Get(row, 4) == "t";
  if (end == nullptr || *end != '\0' || n > kMaxBranchKeyVersion || !wrapped.ok()) {
    return absl::DataLossError("branch key table holds a malformed row");
  }
  v.wrapped_key = std::move(*wrapped);
  if (!ValidateBranchKeyVersion(v).ok()) {
    return absl::DataLossError("branch key table holds a row out of limits");
  }
  return v;
}

absl::StatusOr<std::vector<BranchKeyVersion>> QueryVersions(Connection& c, std::string_view id,
                                                            std::string_view where,
                                                            const std::vector<std::string>& params) {
  KMS_ASSIGN_OR_RETURN(Result r, c.Exec(SelectVersions(c, where), params));
  std::vector<BranchKeyVersion> out;
  for (int i = 0; i < r.rows(); ++i) {
    KMS_ASSIGN_OR_RETURN(BranchKeyVersion v, ParseRow(r, i, id));
    out.push_back(std::move(v));
  }
  if (out.empty()) {
    return KmsError(kms_code::kKeyNotFound,
                    absl::StrCat("no branch key ", std::string(id), " (or no such version)"));
  }
  return out;
}

// The transaction of PutActiveVersion (see the header).
absl::Status PutTransaction(Connection& c, const BranchKeyVersion& v) {
  const std::string id = v.branch_key_id, number = std::to_string(v.version);
  // Lock the key's row first; the max is read by a later statement, so a writer that waited
  // for the lock sees the version the previous holder committed (READ COMMITTED).
  KMS_RETURN_IF_ERROR(c.Exec(absl::StrCat("SELECT 1 FROM ", c.keys(),
                                          " WHERE branch_key_id = $1 FOR UPDATE"),
                             {id})
                          .status());
  KMS_ASSIGN_OR_RETURN(Result newest_row,
                       c.Exec(absl::StrCat("SELECT coalesce(max(version), 0) FROM ", c.versions(),
                                           " WHERE branch_key_id = $1"),
                              {id}));
  const std::string newest = newest_row.Get(0, 0);
  if (newest != std::to_string(v.version - 1)) {
    return absl::AbortedError("not the next version");
  }
  KMS_RETURN_IF_ERROR(c.Exec(absl::StrCat("INSERT INTO ", c.versions(),
                                          " (branch_key_id, version, cmk_key_id, wrapped_key, "
                                          "create_time) VALUES ($1, $2, $3, $4, $5)"),
                             {id, number, v.cmk_key_id, v.wrapped_key, v.create_time}, 3)
                          .status());
  const std::string activate =
      v.version == 1 ? absl::StrCat("INSERT INTO ", c.keys(),
                                    " (branch_key_id, active_version) VALUES ($1, $2)")
                     : absl::StrCat("UPDATE ", c.keys(),
                                    " SET active_version = $2 WHERE branch_key_id = $1");
  KMS_RETURN_IF_ERROR(c.Exec(activate, {id, number}).status());
  return c.Exec("COMMIT").status();
}

template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}
inline absl::Status StatusOf(const absl::Status& s) { return s; }

}  // namespace

struct PostgresBranchKeyStore::Impl {
  PostgresBranchKeyStoreOptions options;
  std::mutex mu;
  std::unique_ptr<Connection> connection;  // guarded by mu
  PostgresStoreStats stats;                // guarded by mu

  // Runs op(connection) under the lock; on connection loss reconnects and runs it again until
  // options.retry_for has passed. `op` gets the attempt number (0 first).
  template <typename Op>
  auto WithRetry(Op op) -> decltype(op(std::declval<Connection&>(), 0)) {
    std::lock_guard<std::mutex> lock(mu);
    const auto deadline = Clock::now() + options.retry_for;
    auto backoff = std::chrono::milliseconds(20);
    for (int attempt = 0;; ++attempt) {
      absl::Status failure;
      if (connection == nullptr || !connection->ok()) {
        connection.reset();
        auto fresh = Connection::Open(options.conninfo, options.table_prefix);
        if (fresh.ok()) {
          connection = std::move(*fresh);
          ++stats.reconnects;
        } else {
          failure = fresh.status();
        }
      }
      if (connection != nullptr) {
        auto result = op(*connection, attempt);
        if (!absl::IsUnavailable(StatusOf(result))) return result;
        failure = StatusOf(result);
        connection.reset();
      }
      if (Clock::now() + backoff > deadline) return failure;
      ++stats.retried_calls;
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(500));
    }
  }
};

PostgresBranchKeyStore::PostgresBranchKeyStore(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
PostgresBranchKeyStore::~PostgresBranchKeyStore() = default;

absl::StatusOr<std::unique_ptr<PostgresBranchKeyStore>> PostgresBranchKeyStore::Open(
    const PostgresBranchKeyStoreOptions& options) {
  if (options.conninfo.empty()) {
    return KmsError(kms_code::kInvalidParameter, "no PostgreSQL connection string");
  }
  if (!ValidPrefix(options.table_prefix)) {
    return KmsError(kms_code::kInvalidParameter,
                    "table prefix must be [a-z_][a-z0-9_]*, at most 40 characters");
  }
  if (options.retry_for < std::chrono::milliseconds(0)) {
    return KmsError(kms_code::kInvalidParameter, "retry_for must not be negative");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  KMS_RETURN_IF_ERROR(impl->WithRetry([&](Connection& c, int) {
    return CreateSchema(c, options.table_prefix);
  }));
  return std::unique_ptr<PostgresBranchKeyStore>(new PostgresBranchKeyStore(std::move(impl)));
}

PostgresStoreStats PostgresBranchKeyStore::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->stats;
}

absl::Status PostgresBranchKeyStore::PutActiveVersion(const BranchKeyVersion& version) {
  KMS_RETURN_IF_ERROR(ValidateBranchKeyVersion(version));
  BranchKeyVersion v = version;
  if (v.create_time.empty()) v.create_time = internal::FormatIsoTime(absl::Now());
  return impl_->WithRetry([&](Connection& c, int attempt) -> absl::Status {
    if (attempt > 0) {
      // The connection may have dropped after COMMIT was sent: was it applied?
      auto existing = QueryVersions(c, v.branch_key_id,
                                    "v.branch_key_id = $1 AND v.version = $2",
                                    {v.branch_key_id, std::to_string(v.version)});
      if (absl::IsUnavailable(existing.status())) return existing.status();
      if (existing.ok()) {
        const BranchKeyVersion& row = existing->front();
        if (row.wrapped_key == v.wrapped_key && row.cmk_key_id == v.cmk_key_id) {
          return absl::OkStatus();
        }
        return VersionConflict(v.branch_key_id, v.version);
      }
    }
    KMS_RETURN_IF_ERROR(c.Exec("BEGIN").status());
    absl::Status s = PutTransaction(c, v);
    if (s.ok()) return s;
    c.Rollback();
    if (absl::IsAborted(s)) return VersionConflict(v.branch_key_id, v.version);
    return s;
  });
}

absl::StatusOr<BranchKeyVersion> PostgresBranchKeyStore::GetActiveVersion(std::string_view id) {
  return impl_->WithRetry([&](Connection& c, int) -> absl::StatusOr<BranchKeyVersion> {
    KMS_ASSIGN_OR_RETURN(std::vector<BranchKeyVersion> rows,
                         QueryVersions(c, id, "k.branch_key_id = $1 AND v.version = k.active_version",
                                       {std::string(id)}));
    return std::move(rows.front());
  });
}

absl::StatusOr<BranchKeyVersion> PostgresBranchKeyStore::GetVersion(std::string_view id,
                                                                    uint32_t version) {
  return impl_->WithRetry([&](Connection& c, int) -> absl::StatusOr<BranchKeyVersion> {
    KMS_ASSIGN_OR_RETURN(std::vector<BranchKeyVersion> rows,
                         QueryVersions(c, id, "v.branch_key_id = $1 AND v.version = $2",
                                       {std::string(id), std::to_string(version)}));
    return std::move(rows.front());
  });
}

absl::StatusOr<std::vector<BranchKeyVersion>> PostgresBranchKeyStore::ListVersions(
    std::string_view id) {
  return impl_->WithRetry([&](Connection& c, int) {
    return QueryVersions(c, id, "v.branch_key_id = $1", {std::string(id)});
  });
}

absl::StatusOr<std::vector<std::string>> PostgresBranchKeyStore::ListBranchKeyIds() {
  return impl_->WithRetry([&](Connection& c, int) -> absl::StatusOr<std::vector<std::string>> {
    KMS_ASSIGN_OR_RETURN(Result r, c.Exec(absl::StrCat("SELECT branch_key_id FROM ", c.keys(),
                                                       " ORDER BY branch_key_id COLLATE \"C\"")));
    std::vector<std::string> ids;
    for (int i = 0; i < r.rows(); ++i) ids.push_back(r.Get(i, 0));
    return ids;
  });
}

}  // namespace branch
}  // namespace kms_envelope
