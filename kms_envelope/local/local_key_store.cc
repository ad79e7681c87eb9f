#include "kms_envelope/local/local_key_store.h"

#include <time.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/local/key_lifecycle.h"
#include "kms_envelope/local/root_key.h"
#include "kms_envelope/local/rw_lock.h"
#include "kms_envelope/local/store_persistence.h"
#include "kms_envelope/local/store_state.h"
#include "kms_envelope/status_macros.h"
#include "sodium.h"

namespace kms_envelope {
namespace local {
namespace {

// The refresh check runs on every hot-path call: CLOCK_MONOTONIC_COARSE is read from the vDSO
// without touching the clock source, and its resolution (a few ms) is far finer than
// kRefreshInterval. Monotonic, so a wall-clock step neither stalls nor floods the refresh.
int64_t CoarseMonotonicNanos() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// Returned from a mutation that found nothing to do, so that the store file is not rewritten.
absl::Status NothingToDo() { return absl::AbortedError("nothing to change"); }

}  // namespace

struct LocalKeyStore::Impl {
  std::string directory;
  std::function<absl::Time()> now;
  lifecycle::WrapPolicy wrap_policy;
  std::unique_ptr<StorePersistence> files;  // null: in memory

  std::mutex write_mu;           // serializes mutations and reloads in this process
  mutable RwLock state_mu;       // reader lock on the hot path; writers do not starve
  std::unique_ptr<State> state;  // guarded by state_mu (replacing it also holds write_mu)
  std::atomic<int64_t> next_refresh_ns{0};

  absl::Time Now() const { return now ? now() : absl::Now(); }

  void Install(std::unique_ptr<State> fresh) {
    std::unique_ptr<State> old;
    {
      WriterLock lock(&state_mu);
      old = std::move(state);
      state = std::move(fresh);
    }
    // `old` (and version keys no longer referenced) are wiped outside the lock.
  }

  // Re-reads the store when another process changed it. Caller holds write_mu.
  absl::Status RefreshLocked() {
    if (files == nullptr) return absl::OkStatus();
    std::unique_ptr<State> fresh;
    {
      ReaderLock lock(&state_mu);
      KMS_ASSIGN_OR_RETURN(fresh, files->ReadIfChanged(state.get()));
    }
    if (fresh != nullptr) Install(std::move(fresh));
    return absl::OkStatus();
  }

  absl::Status Refresh() {
    std::lock_guard<std::mutex> lock(write_mu);
    return RefreshLocked();
  }

  // Hot path: at most one refresh per kRefreshInterval, and never waiting for a writer.
  void MaybeRefresh() {
    if (files == nullptr) return;
    const int64_t now_ns = CoarseMonotonicNanos();
    int64_t next = next_refresh_ns.load(std::memory_order_relaxed);
    if (now_ns < next) return;
    if (!next_refresh_ns.compare_exchange_strong(
            next, now_ns + absl::ToInt64Nanoseconds(kRefreshInterval))) {
      return;
    }
    // A writer in this process is busy (and will install what it writes): skip this round.
    if (!write_mu.try_lock()) return;
    std::lock_guard<std::mutex> lock(write_mu, std::adopt_lock);
    // A failed refresh keeps serving the last good state; administrative calls report it.
    (void)RefreshLocked();
  }

  // lock -> reload -> mutate -> write -> install -> unlock. `mutate(State&, absl::Time)`.
  template <typename F>
  absl::Status Mutate(F&& mutate) {
    std::lock_guard<std::mutex> lock(write_mu);
    return files == nullptr ? MutateInMemory(mutate) : MutatePersistent(mutate);
  }

  template <typename F>
  absl::Status MutateInMemory(F& mutate) {
    std::unique_ptr<State> fresh;
    {
      ReaderLock read(&state_mu);
      fresh = state->Clone();
    }
    KMS_RETURN_IF_ERROR(mutate(*fresh, Now()));
    fresh->Reindex();
    Install(std::move(fresh));
    return absl::OkStatus();
  }

  template <typename F>
  absl::Status MutatePersistent(F& mutate) {
    KMS_ASSIGN_OR_RETURN(StorePersistence::Lock file_lock, files->LockExclusive());
    std::unique_ptr<State> fresh;
    {
      ReaderLock read(&state_mu);
      KMS_ASSIGN_OR_RETURN(fresh, files->Read(state.get()));
    }
    absl::Status mutated = mutate(*fresh, Now());
    if (!mutated.ok()) {
      // Still install what was read: it is the newest good state.
      Install(std::move(fresh));
      return mutated;
    }
    fresh->Reindex();
    KMS_RETURN_IF_ERROR(files->Write(*fresh));
    Install(std::move(fresh));
    return absl::OkStatus();
  }

  // A mutation that computes a result: `mutate(State&, absl::Time) -> absl::StatusOr<T>`.
  template <typename T, typename F>
  absl::StatusOr<T> MutateTo(F&& mutate) {
    T result{};
    KMS_RETURN_IF_ERROR(Mutate([&](State& state, absl::Time now) -> absl::Status {
      KMS_ASSIGN_OR_RETURN(result, mutate(state, now));
      return absl::OkStatus();
    }));
    return result;
  }

  // Shared-lock read of the current state after a refresh.
  template <typename F>
  auto Read(F&& read) -> decltype(read(std::declval<const State&>())) {
    KMS_RETURN_IF_ERROR(Refresh());
    ReaderLock lock(&state_mu);
    return read(*state);
  }

  // `find(const State&) -> absl::StatusOr<T>` under the reader lock, then `use(const T&)`
  // under the same lock. On a miss (IsLookupMiss) refreshes once, since another process may
  // have created the key or version, and looks again.
  template <typename Find, typename Use>
  absl::Status WithFound(Find&& find, Use&& use) {
    MaybeRefresh();
    for (int attempt = 0;; ++attempt) {
      {
        ReaderLock lock(&state_mu);
        auto found = find(*state);
        if (found.ok()) return use(*found);
        if (attempt == 1 || files == nullptr || !IsLookupMiss(found.status())) {
          return found.status();
        }
      }
      KMS_RETURN_IF_ERROR(Refresh());
    }
  }

  absl::StatusOr<bool> ReserveWraps(const std::string& version_id, const VersionKey& version);
};

// Slow path of WithPrimaryVersion when this process's range for `version_id` (whose VersionKey
// is `version`) is spent: under the store lock, reserve and persist the next range, or rotate
// (lifecycle::ReserveWraps). True: one wrap under `version` is the caller's (so that other
// threads cannot starve it); false: try again (the key rotated or the version moved on).
absl::StatusOr<bool> LocalKeyStore::Impl::ReserveWraps(const std::string& version_id,
                                                       const VersionKey& version) {
  WrapAllowance& wraps = version.wraps;
  std::lock_guard<std::mutex> refill(wraps.refill_mutex());
  if (wraps.TryTake()) return true;  // another thread reserved meanwhile
  absl::StatusOr<uint64_t> grant = MutateTo<uint64_t>([&](State& state, absl::Time now) {
    return lifecycle::ReserveWraps(state, version_id, wraps, wrap_policy, now);
  });
  if (absl::IsAborted(grant.status())) return false;
  if (GetKmsErrorCode(grant.status()) == kms_code::kLimitExceeded) wraps.MarkExhausted();
  KMS_RETURN_IF_ERROR(grant.status());
  if (*grant == 0) return false;  // rotated
  wraps.Grant(*grant - 1);        // the first wrap of the range is the caller's
  return true;
}

LocalKeyStore::LocalKeyStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LocalKeyStore::~LocalKeyStore() = default;

const std::string& LocalKeyStore::directory() const { return impl_->directory; }

absl::StatusOr<std::unique_ptr<LocalKeyStore>> LocalKeyStore::Open(
    const LocalKeyStoreOptions& options) {
  if (sodium_init() < 0) return absl::InternalError("libsodium initialization failed");
  const bool custom_key_file = !options.root_key_file.empty();
  KMS_ASSIGN_OR_RETURN(
      RootKey root,
      RootKey::New(options.passphrase,
                   custom_key_file
                       ? options.root_key_file
                       : (std::filesystem::path(options.directory) / kRootKeyFileName).string(),
                   custom_key_file));
  if (options.wrap_limit < 1 || options.wrap_limit > kMaxWrapLimit ||
      options.wrap_reservation < 1) {
    return KmsError(kms_code::kInvalidParameter,
                    absl::StrCat("wrap_limit must be 1..", kMaxWrapLimit,
                                 " and wrap_reservation at least 1"));
  }
  auto impl = std::make_unique<Impl>();
  impl->directory = options.directory;
  impl->now = options.now;
  impl->wrap_policy = {options.wrap_limit, options.wrap_reservation};
  if (options.in_memory) {
    impl->state = std::make_unique<State>();
    return std::unique_ptr<LocalKeyStore>(new LocalKeyStore(std::move(impl)));
  }
  KMS_ASSIGN_OR_RETURN(impl->files, StorePersistence::Open(options.directory, std::move(root)));
  {
    std::lock_guard<std::mutex> lock(impl->write_mu);
    // Under the file lock so that two first-time openers agree on one root key file.
    KMS_ASSIGN_OR_RETURN(StorePersistence::Lock file_lock, impl->files->LockExclusive());
    KMS_ASSIGN_OR_RETURN(impl->state, impl->files->Read(nullptr));
  }
  impl->next_refresh_ns = CoarseMonotonicNanos() + absl::ToInt64Nanoseconds(kRefreshInterval);
  return std::unique_ptr<LocalKeyStore>(new LocalKeyStore(std::move(impl)));
}

absl::StatusOr<KeyMetadata> LocalKeyStore::CreateKey(std::string_view description) {
  // Outside the locks: expanding a key schedule does not need them.
  KMS_ASSIGN_OR_RETURN(std::shared_ptr<const VersionKey> material, NewRandomVersionKey());
  return impl_->MutateTo<KeyMetadata>([&](State& state, absl::Time now) {
    return lifecycle::CreateKey(state, description, material, now);
  });
}

absl::StatusOr<KeyMetadata> LocalKeyStore::DescribeKey(std::string_view key_id_or_alias) {
  return impl_->Read([&](const State& state) -> absl::StatusOr<KeyMetadata> {
    KMS_ASSIGN_OR_RETURN(const KeyRecord* k, Resolve(state, key_id_or_alias));
    return ToMetadata(*k);
  });
}

absl::StatusOr<std::vector<KeyMetadata>> LocalKeyStore::ListKeys() {
  return impl_->Read([&](const State& state) -> absl::StatusOr<std::vector<KeyMetadata>> {
    std::vector<KeyMetadata> out;
    for (const std::string& id : state.key_order) out.push_back(ToMetadata(state.keys.at(id)));
    return out;
  });
}

absl::StatusOr<KeyMetadata> LocalKeyStore::EnableKey(std::string_view key_id_or_alias) {
  return impl_->MutateTo<KeyMetadata>(
      [&](State& state, absl::Time) { return lifecycle::EnableKey(state, key_id_or_alias); });
}

absl::StatusOr<KeyMetadata> LocalKeyStore::DisableKey(std::string_view key_id_or_alias) {
  return impl_->MutateTo<KeyMetadata>(
      [&](State& state, absl::Time) { return lifecycle::DisableKey(state, key_id_or_alias); });
}

absl::StatusOr<KeyMetadata> LocalKeyStore::ScheduleKeyDeletion(std::string_view key_id_or_alias,
                                                               int pending_window_in_days) {
  return impl_->MutateTo<KeyMetadata>([&](State& state, absl::Time now) {
    return lifecycle::ScheduleKeyDeletion(state, key_id_or_alias, pending_window_in_days, now);
  });
}

absl::StatusOr<KeyMetadata> LocalKeyStore::CancelKeyDeletion(std::string_view key_id_or_alias) {
  return impl_->MutateTo<KeyMetadata>([&](State& state, absl::Time) {
    return lifecycle::CancelKeyDeletion(state, key_id_or_alias);
  });
}

absl::StatusOr<std::vector<std::string>> LocalKeyStore::PurgeDeletedKeys() {
  std::vector<std::string> purged;
  absl::Status s = impl_->Mutate([&](State& state, absl::Time now) -> absl::Status {
    KMS_ASSIGN_OR_RETURN(purged, lifecycle::PurgeDueKeys(state, now));
    return purged.empty() ? NothingToDo() : absl::OkStatus();
  });
  if (absl::IsAborted(s)) return std::vector<std::string>();
  KMS_RETURN_IF_ERROR(s);
  return purged;
}

absl::StatusOr<std::string> LocalKeyStore::RotateKey(std::string_view key_id_or_alias) {
  KMS_ASSIGN_OR_RETURN(std::shared_ptr<const VersionKey> material, NewRandomVersionKey());
  return impl_->MutateTo<std::string>([&](State& state, absl::Time now) {
    return lifecycle::RotateKey(state, key_id_or_alias, material, now);
  });
}

absl::StatusOr<KeyMetadata> LocalKeyStore::UpdateRotationPolicy(std::string_view key_id_or_alias,
                                                                bool enable_automatic_rotation) {
  return impl_->MutateTo<KeyMetadata>([&](State& state, absl::Time) {
    return lifecycle::SetAutomaticRotation(state, key_id_or_alias, enable_automatic_rotation);
  });
}

absl::Status LocalKeyStore::CreateAlias(std::string_view alias_name, std::string_view key_id) {
  return impl_->Mutate([&](State& state, absl::Time) {
    return lifecycle::CreateAlias(state, alias_name, key_id);
  });
}

absl::Status LocalKeyStore::UpdateAlias(std::string_view alias_name, std::string_view key_id) {
  return impl_->Mutate([&](State& state, absl::Time) {
    return lifecycle::UpdateAlias(state, alias_name, key_id);
  });
}

absl::Status LocalKeyStore::DeleteAlias(std::string_view alias_name) {
  return impl_->Mutate(
      [&](State& state, absl::Time) { return lifecycle::DeleteAlias(state, alias_name); });
}

absl::StatusOr<std::vector<AliasMetadata>> LocalKeyStore::ListAliases() {
  return impl_->Read([&](const State& state) -> absl::StatusOr<std::vector<AliasMetadata>> {
    std::vector<AliasMetadata> out;
    for (const auto& [name, key_id] : state.aliases) out.push_back(ToAliasMetadata(name, key_id));
    return out;
  });
}

absl::StatusOr<std::vector<AliasMetadata>> LocalKeyStore::ListAliasesByKeyId(
    std::string_view key_id_or_alias) {
  return impl_->Read([&](const State& state) -> absl::StatusOr<std::vector<AliasMetadata>> {
    KMS_ASSIGN_OR_RETURN(const KeyRecord* k, Resolve(state, key_id_or_alias));
    std::vector<AliasMetadata> out;
    for (const auto& [name, key_id] : state.aliases) {
      if (key_id == k->key_id) out.push_back(ToAliasMetadata(name, key_id));
    }
    return out;
  });
}

absl::StatusOr<std::string> LocalKeyStore::ResolveKeyId(std::string_view key_id_or_alias) {
  std::string id;
  KMS_RETURN_IF_ERROR(impl_->WithFound(
      [&](const State& state) { return Resolve(state, key_id_or_alias); },
      [&](const KeyRecord* k) {
        id = k->key_id;
        return absl::OkStatus();
      }));
  return id;
}

absl::Status LocalKeyStore::WithPrimaryVersion(std::string_view key_id_or_alias, LeaseUse use) {
  // Attempts: the range is spent, so reserve (or rotate, then reserve under the new version).
  constexpr int kAttempts = 4;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    std::shared_ptr<const VersionKey> spent;  // set when this process's range is used up
    std::string spent_version, spent_key;
    KMS_RETURN_IF_ERROR(impl_->WithFound(
        [&](const State& state) { return Resolve(state, key_id_or_alias); },
        [&](const KeyRecord* k) -> absl::Status {
          KMS_RETURN_IF_ERROR(CheckUsable(*k));
          const VersionRecord& v = k->versions[k->primary];
          if (v.key->wraps.TryTake()) return use(VersionKeyLease{k->key_id, v.id, v.key->aead});
          if (v.key->wraps.exhausted() && !k->automatic_rotation) {
            return lifecycle::WrapLimitReached(*k, v, impl_->wrap_policy.limit);
          }
          spent = v.key;
          spent_version = v.id;
          spent_key = k->key_id;
          return absl::OkStatus();
        }));
    if (spent == nullptr) return absl::OkStatus();
    KMS_ASSIGN_OR_RETURN(bool reserved_one, impl_->ReserveWraps(spent_version, *spent));
    // The reservation checked under the store lock that the key is usable.
    if (reserved_one) return use(VersionKeyLease{spent_key, spent_version, spent->aead});
  }
  return absl::UnavailableError("could not reserve wraps for the CMK's primary version (the key "
                                "kept rotating); try again");
}

absl::Status LocalKeyStore::WithVersion(std::string_view key_version_id, LeaseUse use) {
  return impl_->WithFound(
      [&](const State& state) { return ResolveVersion(state, key_version_id); },
      [&](const VersionRef& ref) -> absl::Status {
        KMS_RETURN_IF_ERROR(CheckUsable(*ref.key));
        return use(VersionKeyLease{ref.key->key_id, ref.version->id, ref.version->key->aead});
      });
}

}  // namespace local
}  // namespace kms_envelope
