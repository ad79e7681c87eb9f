#include "kms_envelope/branch/file_branch_key_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <utility>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/internal/posix_io.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/internal/unnamed_file.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/internal/iso_time.h"

namespace kms_envelope {
namespace branch {
namespace {

using json = nlohmann::json;
constexpr std::string_view kFormat = "kms-envelope-branch-keys";
constexpr int kFormatVersion = 1;

struct Entry {
  uint32_t active = 0;
  std::vector<BranchKeyVersion> versions;  // versions[i].version == i + 1
};
using Model = std::map<std::string, Entry, std::less<>>;

absl::Status Corrupt(std::string_view why) {
  return absl::DataLossError(absl::StrCat("branch key file is corrupt or foreign: ", internal::Av(why)));
}

// Holds an exclusive flock on the lock file while alive (writers only; readers rely on rename).
class WriterFileLock {
 public:
  static absl::StatusOr<WriterFileLock> Acquire(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return internal::ErrnoStatus(errno, "cannot open", path);
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      absl::Status s = internal::ErrnoStatus(errno, "cannot lock", path);
      ::close(fd);
      return s;
    }
    return WriterFileLock(fd);
  }
  WriterFileLock(WriterFileLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  WriterFileLock& operator=(WriterFileLock&&) = delete;
  ~WriterFileLock() {
    if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
  }

 private:
  explicit WriterFileLock(int fd) : fd_(fd) {}
  int fd_;
};

absl::StatusOr<std::string> ReadWholeFile(const std::string& path, bool* missing) {
  const internal::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  *missing = !fd.valid() && errno == ENOENT;
  if (*missing) return std::string();
  if (!fd.valid()) return internal::ErrnoStatus(errno, "cannot open", path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<uint64_t>(st.st_size) > kMaxBranchKeyFileSize) {
    return Corrupt("not a regular file or larger than the limit");
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  uint8_t* data = reinterpret_cast<uint8_t*>(text.data());
  KMS_ASSIGN_OR_RETURN(size_t n,
                       internal::ReadFull(fd.get(), absl::MakeSpan(data, text.size()), path));
  if (n != text.size()) return Corrupt("the file shrank while it was read");
  return text;
}

// Every field must be the expected one: unknown fields are refused, not skipped.
absl::Status CheckFields(const json& object, std::initializer_list<std::string_view> names) {
  if (!object.is_object() || object.size() != names.size()) return Corrupt("unexpected fields");
  for (std::string_view name : names) {
    if (!object.contains(std::string(name))) return Corrupt(absl::StrCat("missing ", internal::Av(name)));
  }
  return absl::OkStatus();
}

absl::StatusOr<BranchKeyVersion> ParseVersion(const std::string& id, const json& j) {
  KMS_RETURN_IF_ERROR(CheckFields(j, {"version", "cmk_key_id", "wrapped_key", "create_time"}));
  if (!j["version"].is_number_unsigned() || !j["cmk_key_id"].is_string() ||
      !j["wrapped_key"].is_string() || !j["create_time"].is_string()) {
    return Corrupt("bad field type");
  }
  BranchKeyVersion v;
  v.branch_key_id = id;
  const uint64_t number = j["version"].get<uint64_t>();
  if (number > kMaxBranchKeyVersion) return Corrupt("version out of range");
  v.version = static_cast<uint32_t>(number);
  v.cmk_key_id = j["cmk_key_id"].get<std::string>();
  absl::StatusOr<std::string> wrapped =
      internal::Base64Decode(j["wrapped_key"].get<std::string>(), kMaxWrappedKeySize);
  if (!wrapped.ok()) return Corrupt("wrapped key is not base64");
  v.wrapped_key = std::move(*wrapped);
  v.create_time = j["create_time"].get<std::string>();
  if (!ValidateBranchKeyVersion(v).ok()) return Corrupt("version record out of limits");
  return v;
}

absl::StatusOr<Entry> ParseEntry(const std::string& id, const json& j) {
  KMS_RETURN_IF_ERROR(CheckFields(j, {"active_version", "versions"}));
  if (!IsValidBranchKeyId(id) || !j["active_version"].is_number_unsigned() ||
      !j["versions"].is_array() || j["versions"].empty()) {
    return Corrupt("bad branch key record");
  }
  Entry e;
  for (const json& jv : j["versions"]) {
    KMS_ASSIGN_OR_RETURN(BranchKeyVersion v, ParseVersion(id, jv));
    if (v.version != e.versions.size() + 1) return Corrupt("versions out of order");
    e.versions.push_back(std::move(v));
  }
  const uint64_t active = j["active_version"].get<uint64_t>();
  if (active < 1 || active > e.versions.size()) return Corrupt("active version does not exist");
  e.active = static_cast<uint32_t>(active);
  return e;
}

absl::StatusOr<Model> Parse(std::string_view text) {
  json root = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return Corrupt("not JSON");
  KMS_RETURN_IF_ERROR(CheckFields(root, {"format", "format_version", "branch_keys"}));
  if (root["format"] != kFormat || root["format_version"] != kFormatVersion ||
      !root["branch_keys"].is_object()) {
    return Corrupt("unknown format or version");
  }
  Model model;
  for (const auto& [id, entry] : root["branch_keys"].items()) {
    KMS_ASSIGN_OR_RETURN(Entry e, ParseEntry(id, entry));
    model.emplace(id, std::move(e));
  }
  return model;
}

std::string Serialize(const Model& model) {
  json keys = json::object();
  for (const auto& [id, e] : model) {
    json versions = json::array();
    for (const BranchKeyVersion& v : e.versions) {
      versions.push_back({{"version", v.version},
                          {"cmk_key_id", v.cmk_key_id},
                          {"wrapped_key", internal::Base64Encode(v.wrapped_key)},
                          {"create_time", v.create_time}});
    }
    keys[id] = {{"active_version", e.active}, {"versions", std::move(versions)}};
  }
  json root = {{"format", kFormat}, {"format_version", kFormatVersion},
               {"branch_keys", std::move(keys)}};
  return root.dump(1) + "\n";
}

// internal::UnnamedFile gives a complete file a hidden name just before renaming it over the
// store; a kill in that instant leaves the hidden copy behind. Under the writer lock no write
// of ours is in flight, so any such name is stale and goes.
void RemoveStaleHiddenCopies(const std::string& directory) {
  const std::string prefix = absl::StrCat(".", internal::Av(kBranchKeyFileName), ".kmse-tmp-");
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(directory, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.compare(0, prefix.size(), prefix) == 0) std::filesystem::remove(entry.path(), ec);
  }
}

absl::Status UnknownId(std::string_view id) {
  return KmsError(kms_code::kKeyNotFound,
                  absl::StrCat("no branch key ", std::string(id)));
}

BranchKeyVersion WithActiveFlag(const Entry& e, const BranchKeyVersion& v) {
  BranchKeyVersion copy = v;
  copy.active = v.version == e.active;
  return copy;
}

}  // namespace

FileBranchKeyStore::FileBranchKeyStore(std::string directory)
    : directory_(std::move(directory)),
      file_path_(absl::StrCat(directory_, "/", internal::Av(kBranchKeyFileName))),
      lock_path_(absl::StrCat(directory_, "/", internal::Av(kBranchKeyLockName))) {}

absl::StatusOr<std::unique_ptr<FileBranchKeyStore>> FileBranchKeyStore::Open(
    const std::string& directory) {
  if (directory.empty()) return KmsError(kms_code::kInvalidParameter, "no store directory");
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", directory, ": ", ec.message()));
  ::chmod(directory.c_str(), 0700);
  std::unique_ptr<FileBranchKeyStore> store(new FileBranchKeyStore(directory));
  KMS_RETURN_IF_ERROR(store->ListBranchKeyIds().status());  // refuse a corrupt file up front
  return store;
}

namespace {
absl::StatusOr<Model> Load(const std::string& path) {
  bool missing = false;
  KMS_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path, &missing));
  if (missing) return Model();
  return Parse(text);
}
}  // namespace

absl::Status FileBranchKeyStore::PutActiveVersion(const BranchKeyVersion& version) {
  KMS_RETURN_IF_ERROR(ValidateBranchKeyVersion(version));
  KMS_ASSIGN_OR_RETURN(WriterFileLock lock, WriterFileLock::Acquire(lock_path_));
  RemoveStaleHiddenCopies(directory_);
  KMS_ASSIGN_OR_RETURN(Model model, Load(file_path_));
  Entry& e = model[version.branch_key_id];
  if (version.version != e.versions.size() + 1) {
    return VersionConflict(version.branch_key_id, version.version);
  }
  BranchKeyVersion stored = version;
  stored.active = false;
  if (stored.create_time.empty()) stored.create_time = internal::FormatIsoTime(absl::Now());
  e.versions.push_back(std::move(stored));
  e.active = version.version;
  KMS_ASSIGN_OR_RETURN(internal::UnnamedFile out,
                       internal::UnnamedFile::Create(directory_, kBranchKeyFileName, 0600));
  KMS_RETURN_IF_ERROR(internal::WriteFull(out.fd(), internal::Bytes(Serialize(model)), file_path_));
  return out.Replace(file_path_);
}

absl::StatusOr<BranchKeyVersion> FileBranchKeyStore::GetActiveVersion(std::string_view id) {
  KMS_ASSIGN_OR_RETURN(Model model, Load(file_path_));
  auto it = model.find(id);
  if (it == model.end()) return UnknownId(id);
  return WithActiveFlag(it->second, it->second.versions[it->second.active - 1]);
}

absl::StatusOr<BranchKeyVersion> FileBranchKeyStore::GetVersion(std::string_view id,
                                                                uint32_t version) {
  KMS_ASSIGN_OR_RETURN(Model model, Load(file_path_));
  auto it = model.find(id);
  if (it == model.end()) return UnknownId(id);
  if (version < 1 || version > it->second.versions.size()) {
    return KmsError(kms_code::kKeyNotFound,
                    absl::StrCat("branch key ", std::string(id), " has no version ", version));
  }
  return WithActiveFlag(it->second, it->second.versions[version - 1]);
}

absl::StatusOr<std::vector<BranchKeyVersion>> FileBranchKeyStore::ListVersions(
    std::string_view id) {
  KMS_ASSIGN_OR_RETURN(Model model, Load(file_path_));
  auto it = model.find(id);
  if (it == model.end()) return UnknownId(id);
  std::vector<BranchKeyVersion> out;
  for (const BranchKeyVersion& v : it->second.versions) out.push_back(WithActiveFlag(it->second, v));
  return out;
}

absl::StatusOr<std::vector<std::string>> FileBranchKeyStore::ListBranchKeyIds() {
  KMS_ASSIGN_OR_RETURN(Model model, Load(file_path_));
  std::vector<std::string> ids;
  for (const auto& [id, e] : model) ids.push_back(id);
  return ids;
}

}  // namespace branch
}  // namespace kms_envelope
