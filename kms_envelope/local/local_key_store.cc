#include "kms_envelope/local/local_key_store.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <map>
#include <mutex>
#include <utility>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "kms_envelope/internal/aead.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/internal/iso_time.h"
#include "kms_envelope/internal/random.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/internal/unnamed_file.h"
#include "kms_envelope/internal/uuid.h"
#include "kms_envelope/key_provider.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/local/ciphertext_blob.h"
#include "sodium.h"

namespace kms_envelope {
namespace local {
namespace {

using internal::Av;
using json = nlohmann::json;

// ---- store file layout (docs/store-format.md) ----
constexpr char kMagic[8] = {'K', 'M', 'S', 'E', 'S', 'T', 'O', 'R'};
// 2 adds the wrap counts: a reader of version 1 only would drop them when it rewrote the file,
// so it must refuse the file instead. Version 1 files are still read (counts start at 0).
constexpr uint16_t kFormatVersion = 2;
constexpr uint16_t kOldestFormatVersion = 1;
constexpr uint8_t kRootKeyFile = 1;
constexpr uint8_t kRootKeyArgon2id = 2;
constexpr size_t kSaltSize = crypto_pwhash_SALTBYTES;  // 16
constexpr size_t kHeaderSize = 8 + 2 + 1 + 1 + 8 + 8 + kSaltSize + internal::kXChaCha20NonceSize + 4;
static_assert(kHeaderSize == 72, "docs/store-format.md documents a 72-byte header");
// Bounds on Argon2 limits read from a header (checked before deriving, the header is only
// authenticated afterwards).
constexpr uint64_t kMaxArgon2OpsLimit = 16;
constexpr uint64_t kMaxArgon2MemLimit = uint64_t{1} << 30;
constexpr size_t kCmkSize = 32;
constexpr size_t kMaxPassphraseSize = 4096;

constexpr char kStoreFileName[] = "keystore.bin";
constexpr char kLockFileName[] = "keystore.lock";
constexpr char kRootKeyFileName[] = "root.key";

std::string ErrnoMessage(std::string_view what, const std::string& path) {
  return absl::StrCat(Av(what), " ", path, ": ", std::strerror(errno));
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { if (fd_ >= 0) ::close(fd_); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { int f = fd_; fd_ = -1; return f; }

 private:
  int fd_;
};

absl::Status ReadFully(int fd, uint8_t* p, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return absl::InternalError(ErrnoMessage("cannot read", path));
    if (r == 0) return absl::DataLossError(absl::StrCat("unexpected end of ", path));
    p += r;
    n -= static_cast<size_t>(r);
  }
  return absl::OkStatus();
}

absl::Status WriteFully(int fd, const uint8_t* p, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return absl::InternalError(ErrnoMessage("cannot write", path));
    p += w;
    n -= static_cast<size_t>(w);
  }
  return absl::OkStatus();
}

std::string ParentDirectory(const std::string& path) {
  std::filesystem::path p(path);
  std::string parent = p.parent_path().string();
  return parent.empty() ? "." : parent;
}

// A reader/writer lock that prefers writers (glibc's default rwlock, and so std::shared_mutex,
// prefers readers: eight hot threads could starve a rotation). pthread-based so that
// ThreadSanitizer sees it (the system Abseil is not TSan-instrumented).
class RwLock {
 public:
  RwLock() {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&lock_, &attr);
    pthread_rwlockattr_destroy(&attr);
  }
  ~RwLock() { pthread_rwlock_destroy(&lock_); }
  RwLock(const RwLock&) = delete;
  RwLock& operator=(const RwLock&) = delete;
  void ReaderLock() { pthread_rwlock_rdlock(&lock_); }
  void WriterLock() { pthread_rwlock_wrlock(&lock_); }
  void Unlock() { pthread_rwlock_unlock(&lock_); }

 private:
  pthread_rwlock_t lock_;
};

class ReaderLock {
 public:
  explicit ReaderLock(RwLock* lock) : lock_(lock) { lock_->ReaderLock(); }
  ~ReaderLock() { lock_->Unlock(); }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  RwLock* lock_;
};

class WriterLock {
 public:
  explicit WriterLock(RwLock* lock) : lock_(lock) { lock_->WriterLock(); }
  ~WriterLock() { lock_->Unlock(); }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  RwLock* lock_;
};

// ---- in-memory model ----
struct VersionKey {
  VersionKey(SecretBytes m, internal::AeadKey a) : material(std::move(m)), aead(std::move(a)) {}
  SecretBytes material;
  internal::AeadKey aead;
  // This process's reserved wraps; lives as long as the key schedule, across reloads.
  mutable WrapAllowance wraps;
};

struct VersionRecord {
  std::string id;
  std::string creation_date;
  std::shared_ptr<const VersionKey> key;
  uint64_t wraps_reserved = 0;  // by all processes (persisted)
};

struct KeyRecord {
  std::string key_id, description, state, creation_date, delete_date, last_rotation_date;
  std::vector<VersionRecord> versions;
  size_t primary = 0;  // index into versions
  bool automatic_rotation = true;
};

struct VersionRef {
  const KeyRecord* key;
  const VersionRecord* version;
};

struct State {
  std::map<std::string, KeyRecord, std::less<>> keys;
  std::vector<std::string> key_order;  // creation order
  std::map<std::string, std::string, std::less<>> aliases;
  std::map<std::string, VersionRef, std::less<>> by_version;  // rebuilt by Reindex

  void Reindex() {
    by_version.clear();
    for (const auto& [id, key] : keys) {
      for (const VersionRecord& v : key.versions) by_version[v.id] = VersionRef{&key, &v};
    }
  }
  std::unique_ptr<State> Clone() const {
    auto copy = std::make_unique<State>();
    copy->keys = keys;
    copy->key_order = key_order;
    copy->aliases = aliases;
    copy->Reindex();
    return copy;
  }
};

absl::StatusOr<std::shared_ptr<const VersionKey>> MakeVersionKey(SecretBytes material) {
  if (material.size() != kCmkSize) return absl::InternalError("CMK material must be 32 bytes");
  // The default backend (intel-ipsec-mb where the CPU has AES-NI) expands the key schedule and
  // GHASH table once, here, into locked memory.
  KMS_ASSIGN_OR_RETURN(internal::AeadKey aead,
                       internal::AeadKey::New(internal::AeadAlgorithm::kAes256Gcm,
                                              material.span()));
  return std::shared_ptr<const VersionKey>(
      new VersionKey(std::move(material), std::move(aead)));
}

absl::StatusOr<std::shared_ptr<const VersionKey>> NewRandomVersionKey() {
  KMS_ASSIGN_OR_RETURN(SecretBytes material, SecretBytes::New(kCmkSize));
  internal::FillRandomFromKernel(material.mutable_span());
  return MakeVersionKey(std::move(material));
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

std::string KeyArn(std::string_view key_id) { return absl::StrCat("acs:kms:local:0:key/", Av(key_id)); }

KeyMetadata ToMetadata(const KeyRecord& k) {
  KeyMetadata m;
  m.key_id = k.key_id;
  m.description = k.description;
  m.key_state = k.state;
  m.creation_date = k.creation_date;
  m.delete_date = k.delete_date;
  m.primary_key_version = k.versions.empty() ? "" : k.versions[k.primary].id;
  m.last_rotation_date = k.last_rotation_date;
  m.arn = KeyArn(k.key_id);
  for (const VersionRecord& v : k.versions) m.key_version_ids.push_back(v.id);
  m.automatic_rotation = std::string(k.automatic_rotation ? kAutomaticRotationEnabled
                                                          : kAutomaticRotationDisabled);
  if (!k.versions.empty()) m.primary_key_version_wrap_count = k.versions[k.primary].wraps_reserved;
  return m;
}

// Finds the key an id or alias names (no allocation on success).
absl::StatusOr<const KeyRecord*> Resolve(const State& state, std::string_view key_id_or_alias) {
  if (key_id_or_alias.empty()) return KmsError(kms_code::kInvalidParameter, "KeyId is required");
  std::string_view key_id = key_id_or_alias;
  if (StartsWith(key_id_or_alias, kAliasPrefix)) {
    auto a = state.aliases.find(key_id_or_alias);
    if (a == state.aliases.end()) {
      return KmsError(kms_code::kAliasNotFound,
                      absl::StrCat("no alias ", Av(key_id_or_alias)));
    }
    key_id = a->second;
  }
  auto k = state.keys.find(key_id);
  if (k == state.keys.end()) {
    return KmsError(kms_code::kKeyNotFound, absl::StrCat("no CMK with KeyId ", Av(key_id)));
  }
  return &k->second;
}

KeyRecord* ResolveMutable(State& state, std::string_view key_id_or_alias, absl::Status* status) {
  absl::StatusOr<const KeyRecord*> r = Resolve(state, key_id_or_alias);
  if (!r.ok()) {
    *status = r.status();
    return nullptr;
  }
  return const_cast<KeyRecord*>(*r);
}

// The refresh check runs on every call: CLOCK_MONOTONIC_COARSE is read from the vDSO without
// touching the clock source (~3 ns here against ~27 ns for CLOCK_REALTIME under kvm-clock), and
// its resolution (a few ms) is far finer than kRefreshInterval. Monotonic, so a wall-clock step
// neither stalls nor floods the refresh.
int64_t CoarseMonotonicNanos() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

absl::Status CheckUsable(const KeyRecord& k) {
  if (k.state == kKeyStateEnabled) return absl::OkStatus();
  if (k.state == kKeyStateDisabled) {
    return KmsError(kms_code::kDisabled, absl::StrCat("CMK ", k.key_id, " is Disabled"));
  }
  return KmsError(kms_code::kPendingDeletion,
                  absl::StrCat("CMK ", k.key_id, " is PendingDeletion"));
}

// Adds `material` as the new primary version of `k` (CreateKeyVersion); returns its id.
const std::string& AddPrimaryVersion(KeyRecord& k, std::shared_ptr<const VersionKey> material,
                                     absl::Time now) {
  VersionRecord v;
  internal::RandomUuidInto(&v.id);
  v.creation_date = internal::FormatIsoTime(now);
  v.key = std::move(material);
  k.last_rotation_date = v.creation_date;
  k.versions.push_back(std::move(v));
  k.primary = k.versions.size() - 1;
  return k.versions.back().id;
}

absl::Status WrapLimitReached(const KeyRecord& k, const VersionRecord& v, uint64_t limit) {
  return KmsError(kms_code::kLimitExceeded,
                  absl::StrCat("CMK ", k.key_id, " version ", v.id, " has reached its limit of ",
                               limit, " wraps (AES-GCM with random IVs) and its AutomaticRotation "
                               "is Disabled: rotate the key or enable automatic rotation; "
                               "Decrypt still works"));
}

// ---- JSON document ----
void WipeString(std::string& s) {
  if (!s.empty()) sodium_memzero(s.data(), s.size());
}

void WipeMaterial(json& doc) {
  if (!doc.is_object()) return;
  auto keys = doc.find("Keys");
  if (keys == doc.end() || !keys->is_array()) return;
  for (json& k : *keys) {
    if (!k.is_object()) continue;
    auto versions = k.find("Versions");
    if (versions == k.end() || !versions->is_array()) continue;
    for (json& v : *versions) {
      if (!v.is_object()) continue;
      auto m = v.find("Material");
      if (m != v.end() && m->is_string()) WipeString(m->get_ref<std::string&>());
    }
  }
}

absl::StatusOr<SecretBytes> Serialize(const State& state) {
  json doc = json::object();
  doc["FormatVersion"] = kFormatVersion;
  json keys = json::array();
  for (const std::string& id : state.key_order) {
    const KeyRecord& k = state.keys.at(id);
    json versions = json::array();
    for (const VersionRecord& v : k.versions) {
      versions.push_back({{"KeyVersionId", v.id},
                          {"CreationDate", v.creation_date},
                          {"Material", internal::Base64Encode(v.key->material.span())},
                          {"WrapsReserved", v.wraps_reserved}});
    }
    keys.push_back({{"KeyId", k.key_id},
                    {"Description", k.description},
                    {"KeyState", k.state},
                    {"CreationDate", k.creation_date},
                    {"DeleteDate", k.delete_date},
                    {"LastRotationDate", k.last_rotation_date},
                    {"PrimaryKeyVersion", k.versions[k.primary].id},
                    {"AutomaticRotation", k.automatic_rotation ? kAutomaticRotationEnabled
                                                               : kAutomaticRotationDisabled},
                    {"Versions", std::move(versions)}});
  }
  doc["Keys"] = std::move(keys);
  json aliases = json::array();
  for (const auto& [name, key_id] : state.aliases) {
    aliases.push_back({{"AliasName", name}, {"KeyId", key_id}});
  }
  doc["Aliases"] = std::move(aliases);
  std::string text = doc.dump();
  WipeMaterial(doc);
  absl::StatusOr<SecretBytes> out = SecretBytes::CopyFrom(internal::Bytes(text));
  WipeString(text);
  return out;
}

const std::string* Str(const json& o, const char* name) {
  auto it = o.find(name);
  if (it == o.end() || !it->is_string()) return nullptr;
  return &it->get_ref<const std::string&>();
}

absl::Status Corrupt(std::string_view why) {
  return absl::DataLossError(absl::StrCat("key store document is malformed: ", Av(why)));
}

// The fields format version 2 added; absent in version 1 documents (AutomaticRotation Enabled,
// WrapsReserved 0), refused when present but malformed.
absl::Status ParseAutomaticRotation(const json& k, KeyRecord* rec) {
  auto it = k.find("AutomaticRotation");
  if (it == k.end()) return absl::OkStatus();
  const std::string* value = Str(k, "AutomaticRotation");
  if (value != nullptr &&
      (*value == kAutomaticRotationEnabled || *value == kAutomaticRotationDisabled)) {
    rec->automatic_rotation = *value == kAutomaticRotationEnabled;
    return absl::OkStatus();
  }
  return Corrupt("AutomaticRotation is neither Enabled nor Disabled");
}

absl::Status ParseWrapsReserved(const json& v, VersionRecord* rec) {
  auto it = v.find("WrapsReserved");
  if (it == v.end()) return absl::OkStatus();
  if (!it->is_number_unsigned()) return Corrupt("WrapsReserved is not an unsigned integer");
  rec->wraps_reserved = it->get<uint64_t>();
  return absl::OkStatus();
}

// Builds a State from the decrypted document; reuses `previous`'s version keys when the
// material is the same (saves recomputing key schedules on every reload).
absl::StatusOr<std::unique_ptr<State>> ParseDocument(json& doc, const State* previous) {
  if (!doc.is_object()) return Corrupt("not an object");
  auto keys = doc.find("Keys");
  auto aliases = doc.find("Aliases");
  if (keys == doc.end() || !keys->is_array()) return Corrupt("no Keys");
  if (aliases == doc.end() || !aliases->is_array()) return Corrupt("no Aliases");
  auto state = std::make_unique<State>();
  for (const json& k : *keys) {
    if (!k.is_object()) return Corrupt("key is not an object");
    KeyRecord rec;
    const std::string* fields[7];
    const char* names[7] = {"KeyId",    "Description",      "KeyState",         "CreationDate",
                            "DeleteDate", "LastRotationDate", "PrimaryKeyVersion"};
    for (int i = 0; i < 7; ++i) {
      fields[i] = Str(k, names[i]);
      if (fields[i] == nullptr) return Corrupt(absl::StrCat("key without ", names[i]));
    }
    rec.key_id = *fields[0];
    rec.description = *fields[1];
    rec.state = *fields[2];
    rec.creation_date = *fields[3];
    rec.delete_date = *fields[4];
    rec.last_rotation_date = *fields[5];
    if (!internal::IsUuid(rec.key_id)) return Corrupt("malformed KeyId");
    KMS_RETURN_IF_ERROR(ParseAutomaticRotation(k, &rec));
    if (rec.state != kKeyStateEnabled && rec.state != kKeyStateDisabled &&
        rec.state != kKeyStatePendingDeletion) {
      return Corrupt("unknown KeyState");
    }
    auto versions = k.find("Versions");
    if (versions == k.end() || !versions->is_array() || versions->empty()) {
      return Corrupt("key without versions");
    }
    bool primary_found = false;
    for (const json& v : *versions) {
      if (!v.is_object()) return Corrupt("version is not an object");
      const std::string* id = Str(v, "KeyVersionId");
      const std::string* date = Str(v, "CreationDate");
      const std::string* material = Str(v, "Material");
      if (id == nullptr || date == nullptr || material == nullptr || !internal::IsUuid(*id)) {
        return Corrupt("malformed version");
      }
      absl::StatusOr<SecretBytes> raw =
          internal::Base64DecodeSecret(internal::Bytes(*material), kCmkSize);
      if (!raw.ok() || raw->size() != kCmkSize) return Corrupt("malformed key material");
      VersionRecord vr;
      vr.id = *id;
      vr.creation_date = *date;
      KMS_RETURN_IF_ERROR(ParseWrapsReserved(v, &vr));
      if (previous != nullptr) {
        auto old = previous->by_version.find(*id);
        if (old != previous->by_version.end() &&
            old->second.version->key->material.ConstantTimeEquals(*raw)) {
          vr.key = old->second.version->key;
        }
      }
      if (vr.key == nullptr) {
        KMS_ASSIGN_OR_RETURN(vr.key, MakeVersionKey(*std::move(raw)));
      }
      if (*id == *fields[6]) {
        rec.primary = rec.versions.size();
        primary_found = true;
      }
      if (state->by_version.count(*id) != 0) return Corrupt("duplicate KeyVersionId");
      state->by_version[*id] = VersionRef{nullptr, nullptr};
      rec.versions.push_back(std::move(vr));
    }
    if (!primary_found) return Corrupt("PrimaryKeyVersion names no version");
    if (state->keys.count(rec.key_id) != 0) return Corrupt("duplicate KeyId");
    state->key_order.push_back(rec.key_id);
    std::string id = rec.key_id;
    state->keys.emplace(std::move(id), std::move(rec));
  }
  for (const json& a : *aliases) {
    if (!a.is_object()) return Corrupt("alias is not an object");
    const std::string* name = Str(a, "AliasName");
    const std::string* key_id = Str(a, "KeyId");
    if (name == nullptr || key_id == nullptr || !IsValidAliasName(*name)) {
      return Corrupt("malformed alias");
    }
    if (state->keys.count(*key_id) == 0) return Corrupt("alias names an unknown key");
    if (!state->aliases.emplace(*name, *key_id).second) return Corrupt("duplicate alias");
  }
  state->Reindex();
  return state;
}

struct Header {
  uint8_t kind = kRootKeyFile;
  uint64_t opslimit = 0;
  uint64_t memlimit = 0;
  uint8_t salt[kSaltSize] = {};
};

bool SameKdf(const Header& a, const Header& b) {
  return a.kind == b.kind && a.opslimit == b.opslimit && a.memlimit == b.memlimit &&
         std::memcmp(a.salt, b.salt, kSaltSize) == 0;
}

struct Fingerprint {
  bool exists = false;
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const Fingerprint& o) const {
    return exists == o.exists && dev == o.dev && ino == o.ino && size == o.size &&
           mtime_ns == o.mtime_ns;
  }
};

Fingerprint FingerprintOf(const struct stat& st) {
  Fingerprint f;
  f.exists = true;
  f.dev = st.st_dev;
  f.ino = st.st_ino;
  f.size = st.st_size;
  f.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
  return f;
}

}  // namespace

// ---- Impl ----
struct LocalKeyStore::Impl {
  LocalKeyStoreOptions options;
  std::string store_path, lock_path, root_key_path;
  SecretBytes passphrase;

  // Root key and the KDF parameters it was derived with (passphrase mode) -- guarded by write_mu.
  Header kdf;
  std::unique_ptr<internal::AeadKey> root;

  std::mutex write_mu;  // serializes mutations and reloads in this process
  mutable RwLock state_mu;  // reader lock on the hot path; writers do not starve
  std::unique_ptr<State> state;  // guarded by state_mu (writes also hold write_mu)
  Fingerprint loaded;            // guarded by write_mu

  std::atomic<int64_t> next_refresh_ns{0};

  // flock on the lock file for the duration of a mutation (or the first open).
  class FileLock {
   public:
    static absl::StatusOr<std::unique_ptr<FileLock>> Acquire(const std::string& path) {
      Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
      if (fd.get() < 0) return absl::InternalError(ErrnoMessage("cannot open lock file", path));
      while (::flock(fd.get(), LOCK_EX) != 0) {
        if (errno != EINTR) return absl::InternalError(ErrnoMessage("cannot lock", path));
      }
      return std::unique_ptr<FileLock>(new FileLock(fd.release()));
    }
    ~FileLock() {
      ::flock(fd_, LOCK_UN);
      ::close(fd_);
    }

   private:
    explicit FileLock(int fd) : fd_(fd) {}
    int fd_;
  };

  // Writes a fresh random root key to `path` without ever exposing a partial file: an unnamed
  // file (O_TMPFILE, 0600) + fsync, then link(2) to `path`, which fails with EEXIST like O_EXCL.
  // A kill at any point leaves either no file or the complete key at `path`, never a spare copy
  // of the key under another name. Returns false (key untouched) when another process created
  // `path` first: read theirs.
  absl::StatusOr<bool> CreateRootKeyFile(const std::string& path, SecretBytes* key) {
    KMS_ASSIGN_OR_RETURN(SecretBytes fresh, SecretBytes::New(internal::kAeadKeySize));
    internal::FillRandomFromKernel(fresh.mutable_span());
    absl::StatusOr<internal::UnnamedFile> out =
        internal::UnnamedFile::Create(ParentDirectory(path), "root.key", 0600);
    if (!out.ok()) {
      return absl::InternalError(absl::StrCat("cannot create root key file: ",
                                              out.status().message()));
    }
    KMS_RETURN_IF_ERROR(WriteFully(out->fd(), fresh.data(), fresh.size(), path));
    absl::Status linked = out->LinkAsNew(path);
    if (absl::IsAlreadyExists(linked)) return false;
    if (!linked.ok()) {
      return absl::InternalError(absl::StrCat("cannot create root key file: ",
                                              linked.message()));
    }
    *key = std::move(fresh);
    return true;
  }

  // Key-file mode: read or (first use, under the file lock) create the root key.
  absl::Status LoadOrCreateRootKeyFile(bool store_exists) {
    const std::string& path = root_key_path;
    SecretBytes key;
    bool have_key = false;
    for (int attempt = 0; !have_key; ++attempt) {
      if (attempt == 3) {
        return absl::InternalError(absl::StrCat("root key file ", path, " keeps changing"));
      }
      Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
      if (fd.get() < 0 && errno != ENOENT) {
        return absl::FailedPreconditionError(ErrnoMessage("cannot open root key file", path));
      }
      if (fd.get() < 0) {
        if (store_exists) {
          return absl::FailedPreconditionError(absl::StrCat(
              "root key file ", path, " is missing but the key store exists; refusing to create "
              "a new root key (the store would be unreadable)"));
        }
        KMS_ASSIGN_OR_RETURN(have_key, CreateRootKeyFile(path, &key));
        continue;  // lost a creation race: read the winner's file
      }
      struct stat st;
      if (::fstat(fd.get(), &st) != 0) return absl::InternalError(ErrnoMessage("cannot stat", path));
      if (S_ISREG(st.st_mode) && st.st_size == 0 && !store_exists &&
          options.root_key_file.empty()) {
        // An empty root.key and no store: left by a crash of an older version, which created
        // the file in place before writing it. No key was ever in it and nothing was encrypted
        // under it, so replace it. Only for the default path: the store's file lock (held
        // here) covers it, so no other process is creating it at the same time.
        if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
          return absl::InternalError(ErrnoMessage("cannot remove empty root key file", path));
        }
        continue;
      }
      if (!S_ISREG(st.st_mode) || st.st_size != static_cast<off_t>(internal::kAeadKeySize)) {
        return absl::FailedPreconditionError(
            absl::StrCat("root key file ", path, " must be a regular file of exactly 32 bytes"));
      }
      if ((st.st_mode & 077) != 0) {
        return absl::FailedPreconditionError(
            absl::StrCat("root key file ", path, " is accessible by group or others (chmod 600)"));
      }
      KMS_ASSIGN_OR_RETURN(key, SecretBytes::New(internal::kAeadKeySize));
      KMS_RETURN_IF_ERROR(ReadFully(fd.get(), key.mutable_data(), key.size(), path));
      have_key = true;
    }
    KMS_ASSIGN_OR_RETURN(internal::AeadKey aead,
                         internal::AeadKey::New(internal::AeadAlgorithm::kXChaCha20Poly1305,
                                                key.span()));
    root = std::make_unique<internal::AeadKey>(std::move(aead));
    kdf = Header{};
    return absl::OkStatus();
  }

  // Passphrase mode: derive the root key for `params` unless already derived for them.
  absl::Status DeriveRootKey(const Header& params) {
    if (root != nullptr && SameKdf(kdf, params)) return absl::OkStatus();
    if (params.opslimit < crypto_pwhash_OPSLIMIT_MIN || params.opslimit > kMaxArgon2OpsLimit ||
        params.memlimit < crypto_pwhash_MEMLIMIT_MIN || params.memlimit > kMaxArgon2MemLimit) {
      return absl::DataLossError("key store header has out-of-range Argon2id limits");
    }
    KMS_ASSIGN_OR_RETURN(SecretBytes key, SecretBytes::New(internal::kAeadKeySize));
    if (crypto_pwhash(key.mutable_data(), key.size(),
                      reinterpret_cast<const char*>(passphrase.data()), passphrase.size(),
                      params.salt, params.opslimit, static_cast<size_t>(params.memlimit),
                      crypto_pwhash_ALG_ARGON2ID13) != 0) {
      return absl::ResourceExhaustedError("Argon2id derivation failed (out of memory?)");
    }
    KMS_ASSIGN_OR_RETURN(internal::AeadKey aead,
                         internal::AeadKey::New(internal::AeadAlgorithm::kXChaCha20Poly1305,
                                                key.span()));
    root = std::make_unique<internal::AeadKey>(std::move(aead));
    kdf = params;
    return absl::OkStatus();
  }

  Header NewPassphraseParams() {
    Header h;
    h.kind = kRootKeyArgon2id;
    h.opslimit = kArgon2OpsLimit;
    h.memlimit = kArgon2MemLimit;
    internal::FillRandomFromKernel(absl::MakeSpan(h.salt, kSaltSize));
    return h;
  }

  // Reads and authenticates the store file. `*fingerprint` describes what was read; a missing
  // file gives an empty state. Never modifies the file.
  absl::StatusOr<std::unique_ptr<State>> ReadStore(const State* previous, Fingerprint* fingerprint) {
    const std::string& path = store_path;
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (fd.get() < 0) {
      if (errno != ENOENT) return absl::InternalError(ErrnoMessage("cannot open key store", path));
      *fingerprint = Fingerprint{};
      if (options.passphrase.empty()) {
        if (root == nullptr) KMS_RETURN_IF_ERROR(LoadOrCreateRootKeyFile(false));
      } else if (root == nullptr) {
        KMS_RETURN_IF_ERROR(DeriveRootKey(NewPassphraseParams()));
      }
      auto empty = std::make_unique<State>();
      return empty;
    }
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return absl::InternalError(ErrnoMessage("cannot stat", path));
    if (!S_ISREG(st.st_mode)) return absl::DataLossError(absl::StrCat(path, " is not a regular file"));
    if (static_cast<uint64_t>(st.st_size) > kMaxStoreFileSize) {
      return absl::DataLossError(absl::StrCat("key store ", path, " is larger than ",
                                              kMaxStoreFileSize, " bytes; refusing to load it"));
    }
    const size_t size = static_cast<size_t>(st.st_size);
    if (size < kHeaderSize + internal::kAeadTagSize) {
      return absl::DataLossError(absl::StrCat("key store ", path,
                                              " is truncated; refusing to load it"));
    }
    std::vector<uint8_t> file(size);
    KMS_RETURN_IF_ERROR(ReadFully(fd.get(), file.data(), size, path));
    const uint8_t* h = file.data();
    if (std::memcmp(h, kMagic, sizeof(kMagic)) != 0) {
      return absl::DataLossError(absl::StrCat(path, " is not a kms-envelope key store"));
    }
    const uint16_t version = internal::LoadBigEndian16(h + 8);
    if (version < kOldestFormatVersion || version > kFormatVersion) {
      return absl::DataLossError(absl::StrCat(path, " has an unsupported format version"));
    }
    Header header;
    header.kind = h[10];
    header.opslimit = internal::LoadBigEndian64(h + 12);
    header.memlimit = internal::LoadBigEndian64(h + 20);
    std::memcpy(header.salt, h + 28, kSaltSize);
    const uint32_t sealed_size = internal::LoadBigEndian32(h + 68);
    if (h[11] != 0 || (header.kind != kRootKeyFile && header.kind != kRootKeyArgon2id)) {
      return absl::DataLossError(absl::StrCat(path, " has a malformed header"));
    }
    if (sealed_size != size - kHeaderSize) {
      return absl::DataLossError(absl::StrCat("key store ", path,
                                              " is truncated or extended; refusing to load it"));
    }
    if (header.kind == kRootKeyArgon2id) {
      if (options.passphrase.empty()) {
        return absl::FailedPreconditionError(
            absl::StrCat("key store ", path, " is protected by a passphrase; none was given"));
      }
      KMS_RETURN_IF_ERROR(DeriveRootKey(header));
    } else {
      if (!options.passphrase.empty()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "key store ", path, " is protected by a root key file, not a passphrase"));
      }
      if (root == nullptr) KMS_RETURN_IF_ERROR(LoadOrCreateRootKeyFile(true));
    }
    KMS_ASSIGN_OR_RETURN(SecretBytes text, SecretBytes::New(sealed_size - internal::kAeadTagSize));
    absl::Status opened =
        root->Open(absl::MakeConstSpan(h + 44, internal::kXChaCha20NonceSize),
                   absl::MakeConstSpan(h, kHeaderSize),
                   absl::MakeConstSpan(h + kHeaderSize, sealed_size), text.mutable_span());
    if (!opened.ok()) {
      return absl::DataLossError(absl::StrCat(
          "key store ", path, " failed authentication: wrong root key or passphrase, or the "
          "file was modified; refusing to load it"));
    }
    json doc = json::parse(text.data(), text.data() + text.size(), nullptr, false);
    if (doc.is_discarded()) return Corrupt("not JSON");
    absl::StatusOr<std::unique_ptr<State>> state = ParseDocument(doc, previous);
    WipeMaterial(doc);
    if (state.ok()) *fingerprint = FingerprintOf(st);
    return state;
  }

  absl::Status WriteStore(const State& state, Fingerprint* fingerprint) {
    if (root == nullptr) return absl::InternalError("no root key");
    Header header = options.passphrase.empty() ? Header{} : kdf;
    KMS_ASSIGN_OR_RETURN(SecretBytes text, Serialize(state));
    if (text.size() + kHeaderSize + internal::kAeadTagSize > kMaxStoreFileSize) {
      return absl::ResourceExhaustedError("key store would exceed kMaxStoreFileSize");
    }
    const size_t sealed_size = text.size() + internal::kAeadTagSize;
    std::vector<uint8_t> file(kHeaderSize + sealed_size);
    uint8_t* h = file.data();
    std::memcpy(h, kMagic, sizeof(kMagic));
    internal::StoreBigEndian16(kFormatVersion, h + 8);
    h[10] = options.passphrase.empty() ? kRootKeyFile : kRootKeyArgon2id;
    h[11] = 0;
    internal::StoreBigEndian64(header.opslimit, h + 12);
    internal::StoreBigEndian64(header.memlimit, h + 20);
    std::memcpy(h + 28, header.salt, kSaltSize);
    internal::FillRandom(absl::MakeSpan(h + 44, internal::kXChaCha20NonceSize));
    internal::StoreBigEndian32(static_cast<uint32_t>(sealed_size), h + 68);
    KMS_RETURN_IF_ERROR(root->Seal(absl::MakeConstSpan(h + 44, internal::kXChaCha20NonceSize),
                                   absl::MakeConstSpan(h, kHeaderSize), text.span(),
                                   absl::MakeSpan(h + kHeaderSize, sealed_size)));
    text.Clear();

    // Unnamed until complete (O_TMPFILE): a kill mid-write leaves no stray file behind.
    absl::StatusOr<internal::UnnamedFile> out =
        internal::UnnamedFile::Create(options.directory, "keystore.bin", 0600);
    if (!out.ok()) {
      return absl::InternalError(
          absl::StrCat("cannot create: ", out.status().message()));
    }
    KMS_RETURN_IF_ERROR(WriteFully(out->fd(), file.data(), file.size(), store_path));
    if (absl::Status w = out->Replace(store_path); !w.ok()) {
      return absl::InternalError(w.message());
    }
    struct stat st;
    if (::stat(store_path.c_str(), &st) != 0) {
      return absl::InternalError(ErrnoMessage("cannot stat", store_path));
    }
    *fingerprint = FingerprintOf(st);
    return absl::OkStatus();
  }

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
    if (options.in_memory) return absl::OkStatus();
    struct stat st;
    Fingerprint now;
    if (::stat(store_path.c_str(), &st) == 0) {
      now = FingerprintOf(st);
    } else if (errno != ENOENT) {
      return absl::InternalError(ErrnoMessage("cannot stat", store_path));
    }
    if (now == loaded) return absl::OkStatus();
    std::unique_ptr<State> fresh;
    {
      ReaderLock lock(&state_mu);
      Fingerprint fp;
      KMS_ASSIGN_OR_RETURN(fresh, ReadStore(state.get(), &fp));
      loaded = fp;
    }
    Install(std::move(fresh));
    return absl::OkStatus();
  }

  absl::Status Refresh() {
    std::lock_guard<std::mutex> lock(write_mu);
    return RefreshLocked();
  }

  void MaybeRefresh() {
    if (options.in_memory) return;
    const int64_t now = CoarseMonotonicNanos();
    int64_t next = next_refresh_ns.load(std::memory_order_relaxed);
    if (now < next) return;
    if (!next_refresh_ns.compare_exchange_strong(next, now + absl::ToInt64Nanoseconds(kRefreshInterval))) {
      return;
    }
    // A writer in this process is busy (and will install what it writes): skip this round.
    if (!write_mu.try_lock()) return;
    std::lock_guard<std::mutex> lock(write_mu, std::adopt_lock);
    // A failed refresh keeps serving the last good state; administrative calls report it.
    (void)RefreshLocked();
  }

  absl::Time Now() const { return options.now ? options.now() : absl::Now(); }

  // lock -> reload -> mutate -> write -> install -> unlock.
  template <typename F>
  absl::Status Mutate(F&& mutate) {
    std::lock_guard<std::mutex> lock(write_mu);
    if (options.in_memory) {
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
    KMS_ASSIGN_OR_RETURN(std::unique_ptr<FileLock> file_lock, FileLock::Acquire(lock_path));
    std::unique_ptr<State> fresh;
    Fingerprint fp;
    {
      ReaderLock read(&state_mu);
      KMS_ASSIGN_OR_RETURN(fresh, ReadStore(state.get(), &fp));
    }
    loaded = fp;
    absl::Status mutated = mutate(*fresh, Now());
    if (!mutated.ok()) {
      // Still install what was read: it is the newest good state.
      Install(std::move(fresh));
      return mutated;
    }
    fresh->Reindex();
    KMS_RETURN_IF_ERROR(WriteStore(*fresh, &loaded));
    Install(std::move(fresh));
    return absl::OkStatus();
  }

  // Slow path of SealWithPrimaryVersion when this process's range for `version_id` (whose
  // VersionKey is `version`) is spent: under the store lock, reserve and persist the next range,
  // or - when the version reached the limit and is still primary - rotate the key if its
  // AutomaticRotation is Enabled, else fail with Rejected.LimitExceeded. True: one wrap under
  // `version` is the caller's (so that other threads cannot starve it); false: try again (the
  // key rotated or the version is gone).
  absl::StatusOr<bool> ReserveWraps(const std::string& version_id, const VersionKey& version) {
    WrapAllowance& wraps = version.wraps;
    std::lock_guard<std::mutex> refill(wraps.refill_mutex());
    if (wraps.TryTake()) return true;  // another thread reserved meanwhile
    uint64_t grant = 0;
    const absl::Status moved_on = absl::AbortedError("version no longer primary or gone");
    absl::Status s = Mutate([&](State& state, absl::Time now) -> absl::Status {
      auto it = state.by_version.find(version_id);
      if (it == state.by_version.end()) return moved_on;
      KeyRecord& k = const_cast<KeyRecord&>(*it->second.key);
      VersionRecord& v = const_cast<VersionRecord&>(*it->second.version);
      KMS_RETURN_IF_ERROR(CheckUsable(k));
      grant = wraps.NextGrant(v.wraps_reserved, options.wrap_limit, options.wrap_reservation);
      if (grant > 0) {
        v.wraps_reserved += grant;
        return absl::OkStatus();
      }
      if (&k.versions[k.primary] != &v) return moved_on;
      if (!k.automatic_rotation) return WrapLimitReached(k, v, options.wrap_limit);
      KMS_ASSIGN_OR_RETURN(std::shared_ptr<const VersionKey> fresh, NewRandomVersionKey());
      AddPrimaryVersion(k, std::move(fresh), now);
      return absl::OkStatus();
    });
    if (s == moved_on) return false;
    if (GetKmsErrorCode(s) == kms_code::kLimitExceeded) wraps.MarkExhausted();
    KMS_RETURN_IF_ERROR(s);
    if (grant == 0) return false;  // rotated
    wraps.Grant(grant - 1);        // the first wrap of the range is the caller's
    return true;
  }

  // Shared-lock read of the current state after a refresh.
  template <typename F>
  auto Read(F&& read) -> decltype(read(std::declval<const State&>())) {
    {
      std::lock_guard<std::mutex> lock(write_mu);
      KMS_RETURN_IF_ERROR(RefreshLocked());
    }
    ReaderLock lock(&state_mu);
    return read(*state);
  }

  // Resolve under the reader lock; on a miss refresh once (the key may have been created by
  // another process) and retry. `fn(const KeyRecord&)` runs under the reader lock.
  template <typename F>
  absl::Status WithKey(std::string_view key_id_or_alias, F&& fn) {
    MaybeRefresh();
    for (int attempt = 0; attempt < 2; ++attempt) {
      {
        ReaderLock lock(&state_mu);
        absl::StatusOr<const KeyRecord*> key = Resolve(*state, key_id_or_alias);
        if (key.ok()) return fn(**key);
        if (attempt == 1 || options.in_memory ||
            (GetKmsErrorCode(key.status()) != kms_code::kKeyNotFound &&
             GetKmsErrorCode(key.status()) != kms_code::kAliasNotFound)) {
          return key.status();
        }
      }
      KMS_RETURN_IF_ERROR(Refresh());
    }
    return absl::InternalError("unreachable");
  }
};

LocalKeyStore::LocalKeyStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LocalKeyStore::~LocalKeyStore() = default;

const std::string& LocalKeyStore::directory() const { return impl_->options.directory; }

absl::StatusOr<std::unique_ptr<LocalKeyStore>> LocalKeyStore::Open(
    const LocalKeyStoreOptions& options) {
  if (sodium_init() < 0) return absl::InternalError("libsodium initialization failed");
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  // Keep the passphrase only in SecretBytes: wipe the copy the options assignment made.
  if (!impl->options.passphrase.empty()) {
    sodium_memzero(impl->options.passphrase.data(), impl->options.passphrase.size());
  }
  impl->options.passphrase.clear();
  if (!options.passphrase.empty()) {
    if (options.passphrase.size() > kMaxPassphraseSize) {
      return KmsError(kms_code::kInvalidParameter, "passphrase is too long");
    }
    KMS_ASSIGN_OR_RETURN(impl->passphrase,
                         SecretBytes::CopyFrom(internal::Bytes(options.passphrase)));
    impl->options.passphrase = "set";  // only its emptiness is consulted from here on
  }
  if (options.wrap_limit < 1 || options.wrap_limit > kMaxWrapLimit ||
      options.wrap_reservation < 1) {
    return KmsError(kms_code::kInvalidParameter,
                    absl::StrCat("wrap_limit must be 1..", kMaxWrapLimit,
                                 " and wrap_reservation at least 1"));
  }
  if (options.in_memory) {
    impl->state = std::make_unique<State>();
    return std::unique_ptr<LocalKeyStore>(new LocalKeyStore(std::move(impl)));
  }
  if (options.directory.empty()) {
    return KmsError(kms_code::kInvalidParameter, "key store directory is required");
  }
  std::error_code ec;
  std::filesystem::path dir(options.directory);
  if (dir.has_parent_path()) std::filesystem::create_directories(dir.parent_path(), ec);
  if (::mkdir(options.directory.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::InternalError(ErrnoMessage("cannot create directory", options.directory));
  }
  impl->store_path = (dir / kStoreFileName).string();
  impl->lock_path = (dir / kLockFileName).string();
  impl->root_key_path =
      options.root_key_file.empty() ? (dir / kRootKeyFileName).string() : options.root_key_file;
  {
    std::lock_guard<std::mutex> lock(impl->write_mu);
    // Under the file lock so that two first-time openers agree on one root key file.
    KMS_ASSIGN_OR_RETURN(auto file_lock, Impl::FileLock::Acquire(impl->lock_path));
    Fingerprint fp;
    KMS_ASSIGN_OR_RETURN(impl->state, impl->ReadStore(nullptr, &fp));
    impl->loaded = fp;
  }
  impl->next_refresh_ns = CoarseMonotonicNanos() + absl::ToInt64Nanoseconds(kRefreshInterval);
  return std::unique_ptr<LocalKeyStore>(new LocalKeyStore(std::move(impl)));
}

absl::StatusOr<KeyMetadata> LocalKeyStore::CreateKey(std::string_view description) {
  if (description.size() > kMaxDescriptionSize) {
    return KmsError(kms_code::kInvalidParameter, "Description is too long");
  }
  KMS_ASSIGN_OR_RETURN(std::shared_ptr<const VersionKey> material, NewRandomVersionKey());
  KeyMetadata result;
  KMS_RETURN_IF_ERROR(impl_->Mutate([&](State& state, absl::Time now) -> absl::Status {
    KeyRecord k;
    internal::RandomUuidInto(&k.key_id);
    k.description = std::string(description);
    k.state = std::string(kKeyStateEnabled);
    k.creation_date = internal::FormatIsoTime(now);
    k.last_rotation_date = k.creation_date;
    VersionRecord v;
    internal::RandomUuidInto(&v.id);
    v.creation_date = k.creation_date;
    v.key = material;
    k.versions.push_back(std::move(v));
    k.primary = 0;
    result = ToMetadata(k);
    state.key_order.push_back(k.key_id);
    std::string id = k.key_id;
    state.keys.emplace(std::move(id), std::move(k));
    return absl::OkStatus();
  }));
  return result;
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

namespace {

// Applies a state transition; `allowed_from` lists the states it may start in.
template <typename Store, typename F>
absl::StatusOr<KeyMetadata> Transition(Store& impl, std::string_view key_id_or_alias,
                                       std::initializer_list<std::string_view> allowed_from,
                                       std::string_view action, F&& apply) {
  KeyMetadata result;
  KMS_RETURN_IF_ERROR(impl.Mutate([&](State& state, absl::Time now) -> absl::Status {
    absl::Status status;
    KeyRecord* k = ResolveMutable(state, key_id_or_alias, &status);
    if (k == nullptr) return status;
    bool ok = false;
    for (std::string_view s : allowed_from) ok = ok || k->state == s;
    if (!ok) {
      return KmsError(kms_code::kStateModifiedFailed,
                      absl::StrCat(Av(action), " is not allowed for CMK ", k->key_id,
                                   " in state ", k->state));
    }
    apply(*k, now);
    result = ToMetadata(*k);
    return absl::OkStatus();
  }));
  return result;
}

}  // namespace

absl::StatusOr<KeyMetadata> LocalKeyStore::EnableKey(std::string_view key_id_or_alias) {
  return Transition(*impl_, key_id_or_alias, {kKeyStateEnabled, kKeyStateDisabled}, "EnableKey",
                    [](KeyRecord& k, absl::Time) { k.state = std::string(kKeyStateEnabled); });
}

absl::StatusOr<KeyMetadata> LocalKeyStore::DisableKey(std::string_view key_id_or_alias) {
  return Transition(*impl_, key_id_or_alias, {kKeyStateEnabled, kKeyStateDisabled}, "DisableKey",
                    [](KeyRecord& k, absl::Time) { k.state = std::string(kKeyStateDisabled); });
}

absl::StatusOr<KeyMetadata> LocalKeyStore::ScheduleKeyDeletion(std::string_view key_id_or_alias,
                                                               int pending_window_in_days) {
  if (pending_window_in_days < kMinPendingWindowDays ||
      pending_window_in_days > kMaxPendingWindowDays) {
    return KmsError(kms_code::kInvalidParameter,
                    absl::StrCat("PendingWindowInDays must be ", kMinPendingWindowDays, "..",
                                 kMaxPendingWindowDays));
  }
  return Transition(*impl_, key_id_or_alias, {kKeyStateEnabled, kKeyStateDisabled},
                    "ScheduleKeyDeletion", [&](KeyRecord& k, absl::Time now) {
                      k.state = std::string(kKeyStatePendingDeletion);
                      k.delete_date =
                          internal::FormatIsoTime(now + absl::Hours(24) * pending_window_in_days);
                    });
}

absl::StatusOr<std::vector<std::string>> LocalKeyStore::PurgeDeletedKeys() {
  std::vector<std::string> purged;
  // Returned from the mutation when nothing is due, so that the file is not rewritten.
  const absl::Status nothing_due = absl::AbortedError("no key is due for deletion");
  absl::Status s = impl_->Mutate([&](State& state, absl::Time now) -> absl::Status {
    purged.clear();
    for (const std::string& id : state.key_order) {
      const KeyRecord& k = state.keys.at(id);
      if (k.state != kKeyStatePendingDeletion) continue;
      absl::StatusOr<absl::Time> due = internal::ParseIsoTime(k.delete_date);
      if (!due.ok()) {
        return absl::DataLossError(absl::StrCat("CMK ", id, " has an unreadable DeleteDate"));
      }
      if (*due <= now) purged.push_back(id);
    }
    if (purged.empty()) return nothing_due;
    for (const std::string& id : purged) {
      for (auto it = state.aliases.begin(); it != state.aliases.end();) {
        it = it->second == id ? state.aliases.erase(it) : std::next(it);
      }
      // The version keys are wiped when the last state that holds them (this one's
      // predecessor, a concurrent reader's) is gone.
      state.keys.erase(id);
      state.key_order.erase(std::find(state.key_order.begin(), state.key_order.end(), id));
    }
    return absl::OkStatus();
  });
  if (s == nothing_due) return std::vector<std::string>();
  KMS_RETURN_IF_ERROR(s);
  return purged;
}

absl::StatusOr<KeyMetadata> LocalKeyStore::CancelKeyDeletion(std::string_view key_id_or_alias) {
  return Transition(*impl_, key_id_or_alias, {kKeyStatePendingDeletion}, "CancelKeyDeletion",
                    [](KeyRecord& k, absl::Time) {
                      k.state = std::string(kKeyStateEnabled);
                      k.delete_date.clear();
                    });
}

absl::StatusOr<std::string> LocalKeyStore::RotateKey(std::string_view key_id_or_alias) {
  KMS_ASSIGN_OR_RETURN(std::shared_ptr<const VersionKey> material, NewRandomVersionKey());
  std::string version_id;
  KMS_RETURN_IF_ERROR(impl_->Mutate([&](State& state, absl::Time now) -> absl::Status {
    absl::Status status;
    KeyRecord* k = ResolveMutable(state, key_id_or_alias, &status);
    if (k == nullptr) return status;
    KMS_RETURN_IF_ERROR(CheckUsable(*k));
    version_id = AddPrimaryVersion(*k, material, now);
    return absl::OkStatus();
  }));
  return version_id;
}

absl::StatusOr<KeyMetadata> LocalKeyStore::UpdateRotationPolicy(std::string_view key_id_or_alias,
                                                                bool enable_automatic_rotation) {
  return Transition(*impl_, key_id_or_alias, {kKeyStateEnabled, kKeyStateDisabled},
                    "UpdateRotationPolicy", [&](KeyRecord& k, absl::Time) {
                      k.automatic_rotation = enable_automatic_rotation;
                    });
}

absl::Status LocalKeyStore::CreateAlias(std::string_view alias_name, std::string_view key_id) {
  if (!IsValidAliasName(alias_name)) {
    return KmsError(kms_code::kInvalidParameter,
                    absl::StrCat("AliasName must be alias/ followed by [a-zA-Z0-9:/_-], at most ",
                                 kMaxAliasNameSize, " characters, not alias/acs..."));
  }
  return impl_->Mutate([&](State& state, absl::Time) -> absl::Status {
    if (state.aliases.find(alias_name) != state.aliases.end()) {
      return KmsError(kms_code::kAliasAlreadyExists,
                      absl::StrCat("alias ", Av(alias_name), " already exists"));
    }
    absl::Status status;
    KeyRecord* k = ResolveMutable(state, key_id, &status);
    if (k == nullptr) return status;
    state.aliases.emplace(std::string(alias_name), k->key_id);
    return absl::OkStatus();
  });
}

absl::Status LocalKeyStore::UpdateAlias(std::string_view alias_name, std::string_view key_id) {
  return impl_->Mutate([&](State& state, absl::Time) -> absl::Status {
    auto a = state.aliases.find(alias_name);
    if (a == state.aliases.end()) {
      return KmsError(kms_code::kAliasNotFound, absl::StrCat("no alias ", Av(alias_name)));
    }
    absl::Status status;
    KeyRecord* k = ResolveMutable(state, key_id, &status);
    if (k == nullptr) return status;
    a->second = k->key_id;
    return absl::OkStatus();
  });
}

absl::Status LocalKeyStore::DeleteAlias(std::string_view alias_name) {
  return impl_->Mutate([&](State& state, absl::Time) -> absl::Status {
    auto a = state.aliases.find(alias_name);
    if (a == state.aliases.end()) {
      return KmsError(kms_code::kAliasNotFound, absl::StrCat("no alias ", Av(alias_name)));
    }
    state.aliases.erase(a);
    return absl::OkStatus();
  });
}

namespace {
AliasMetadata ToAlias(const std::string& name, const std::string& key_id) {
  return AliasMetadata{name, absl::StrCat("acs:kms:local:0:", name), key_id};
}
}  // namespace

absl::StatusOr<std::vector<AliasMetadata>> LocalKeyStore::ListAliases() {
  return impl_->Read([&](const State& state) -> absl::StatusOr<std::vector<AliasMetadata>> {
    std::vector<AliasMetadata> out;
    for (const auto& [name, key_id] : state.aliases) out.push_back(ToAlias(name, key_id));
    return out;
  });
}

absl::StatusOr<std::vector<AliasMetadata>> LocalKeyStore::ListAliasesByKeyId(
    std::string_view key_id_or_alias) {
  return impl_->Read([&](const State& state) -> absl::StatusOr<std::vector<AliasMetadata>> {
    KMS_ASSIGN_OR_RETURN(const KeyRecord* k, Resolve(state, key_id_or_alias));
    std::vector<AliasMetadata> out;
    for (const auto& [name, key_id] : state.aliases) {
      if (key_id == k->key_id) out.push_back(ToAlias(name, key_id));
    }
    return out;
  });
}

absl::StatusOr<std::string> LocalKeyStore::ResolveKeyId(std::string_view key_id_or_alias) {
  std::string id;
  KMS_RETURN_IF_ERROR(impl_->WithKey(key_id_or_alias, [&](const KeyRecord& k) {
    id = k.key_id;
    return absl::OkStatus();
  }));
  return id;
}

absl::Status LocalKeyStore::SealWithPrimaryVersion(std::string_view key_id_or_alias,
                                                   absl::Span<const uint8_t> plaintext,
                                                   absl::Span<const uint8_t> iv,
                                                   const EncryptionContext& context,
                                                   std::string* key_id,
                                                   std::string* key_version_id,
                                                   std::string* blob) {
  // Attempts: the range is spent, so reserve (or rotate, then reserve under the new version).
  constexpr int kAttempts = 4;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    std::shared_ptr<const VersionKey> spent;  // set when this process's range is used up
    std::string spent_version, spent_key;
    KMS_RETURN_IF_ERROR(impl_->WithKey(key_id_or_alias, [&](const KeyRecord& k) -> absl::Status {
      KMS_RETURN_IF_ERROR(CheckUsable(k));
      const VersionRecord& v = k.versions[k.primary];
      if (!v.key->wraps.TryTake()) {
        if (v.key->wraps.exhausted() && !k.automatic_rotation) {
          return WrapLimitReached(k, v, impl_->options.wrap_limit);
        }
        spent = v.key;
        spent_version = v.id;
        spent_key = k.key_id;
        return absl::OkStatus();
      }
      KMS_RETURN_IF_ERROR(SealCiphertextBlob(v.key->aead, v.id, plaintext, iv, context, blob));
      key_id->assign(k.key_id);
      key_version_id->assign(v.id);
      return absl::OkStatus();
    }));
    if (spent == nullptr) return absl::OkStatus();
    KMS_ASSIGN_OR_RETURN(bool reserved_one, impl_->ReserveWraps(spent_version, *spent));
    if (reserved_one) {
      // The reservation checked under the store lock that the key is usable.
      KMS_RETURN_IF_ERROR(
          SealCiphertextBlob(spent->aead, spent_version, plaintext, iv, context, blob));
      key_id->assign(spent_key);
      key_version_id->assign(spent_version);
      return absl::OkStatus();
    }
  }
  return absl::UnavailableError("could not reserve wraps for the CMK's primary version (the key "
                                "kept rotating); try again");
}

absl::Status LocalKeyStore::OpenBlob(absl::Span<const uint8_t> blob,
                                     const EncryptionContext& context, std::string* key_id,
                                     std::string* key_version_id, SecretBytes* plaintext) {
  KMS_ASSIGN_OR_RETURN(ParsedCiphertextBlob parsed, ParseCiphertextBlob(blob));
  impl_->MaybeRefresh();
  for (int attempt = 0; attempt < 2; ++attempt) {
    {
      ReaderLock lock(&impl_->state_mu);
      auto it = impl_->state->by_version.find(parsed.key_version_id);
      if (it != impl_->state->by_version.end()) {
        const KeyRecord& k = *it->second.key;
        KMS_RETURN_IF_ERROR(CheckUsable(k));
        KMS_RETURN_IF_ERROR(
            OpenCiphertextBlob(it->second.version->key->aead, parsed, context, plaintext));
        key_id->assign(k.key_id);
        key_version_id->assign(it->second.version->id);
        return absl::OkStatus();
      }
    }
    if (attempt == 0 && !impl_->options.in_memory) {
      // Possibly a version created by another process since the last refresh.
      KMS_RETURN_IF_ERROR(impl_->Refresh());
    }
  }
  return KmsError(kms_code::kInvalidCiphertext,
                  "CiphertextBlob names a key version this store does not hold");
}

bool IsValidAliasName(std::string_view alias_name) {
  if (alias_name.size() <= kAliasPrefix.size() || alias_name.size() > kMaxAliasNameSize) {
    return false;
  }
  if (!StartsWith(alias_name, kAliasPrefix) || StartsWith(alias_name, "alias/acs")) return false;
  for (char c : alias_name.substr(kAliasPrefix.size())) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == ':' || c == '/' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace local
}  // namespace kms_envelope
