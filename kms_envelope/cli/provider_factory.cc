#include "kms_envelope/cli/provider_factory.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "kms_envelope/instance/instance_key_provider.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/local/local_key_provider.h"
#include "kms_envelope/remote/remote_key_provider.h"
#include "sodium.h"

namespace kms_envelope {
namespace cli {
namespace {

// The passphrase file may hold at most this many bytes.
constexpr size_t kMaxPassphraseFileSize = 4096;

absl::StatusOr<std::string> ReadPassphraseFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return KmsError(kms_code::kInvalidParameter,
                    absl::StrCat("cannot open passphrase file ", path, ": ", std::strerror(errno)));
  }
  std::string passphrase(kMaxPassphraseFileSize + 1, '\0');
  size_t size = 0;
  while (size < passphrase.size()) {
    ssize_t r = ::read(fd, passphrase.data() + size, passphrase.size() - size);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    size += static_cast<size_t>(r);
  }
  ::close(fd);
  if (size > kMaxPassphraseFileSize) {
    sodium_memzero(passphrase.data(), passphrase.size());
    return KmsError(kms_code::kInvalidParameter, "passphrase file is too large");
  }
  if (size > 0 && passphrase[size - 1] == '\n') --size;
  if (size > 0 && passphrase[size - 1] == '\r') --size;
  if (size == 0) return KmsError(kms_code::kInvalidParameter, "passphrase file is empty");
  sodium_memzero(passphrase.data() + size, passphrase.size() - size);
  passphrase.resize(size);  // shrinking never reallocates
  return passphrase;
}

// The KMS 3.0 instance provider (docs/kms-instance.md); its flags never combine with others.
absl::StatusOr<std::unique_ptr<KeyProvider>> MakeInstanceProvider(const GlobalOptions& options) {
  if (!options.kms_endpoint.empty() || options.kms_instance_endpoint.empty() ||
      options.client_key_file.empty() || options.client_key_password_file.empty()) {
    return KmsError(kms_code::kInvalidParameter,
                    "--kms-instance-endpoint needs --client-key-file and "
                    "--client-key-password-file (and --ca-file for the instance CA), and "
                    "excludes --kms-endpoint");
  }
  KMS_ASSIGN_OR_RETURN(instance::ClientKey key,
                       instance::ClientKey::FromFiles(options.client_key_file,
                                                      options.client_key_password_file));
  instance::InstanceKeyProviderOptions o;
  o.endpoint = options.kms_instance_endpoint;
  o.ca_file = options.ca_file;
  KMS_ASSIGN_OR_RETURN(std::unique_ptr<instance::InstanceKeyProvider> provider,
                       instance::InstanceKeyProvider::New(std::move(o), std::move(key)));
  return std::unique_ptr<KeyProvider>(std::move(provider));
}

// Anyone may add, rename or remove entries in a world-writable directory (even with the sticky
// bit they may plant names the store then reads): the store is used, but the user is told.
void WarnIfWorldWritable(const std::string& directory) {
  struct stat st;
  if (::stat(directory.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & S_IWOTH) != 0) {
    ReportNote(absl::StrCat("warning: the key store directory ", directory,
                            " is world-writable; other users can tamper with it (chmod o-w)"));
  }
}

}  // namespace

absl::StatusOr<std::shared_ptr<local::LocalKeyStore>> OpenLocalStore(const GlobalOptions& options) {
  if (!options.kms_endpoint.empty() || !options.kms_instance_endpoint.empty()) {
    return KmsError(kms_code::kInvalidParameter,
                    "key administration works on the local store only; drop --kms-endpoint / "
                    "--kms-instance-endpoint");
  }
  local::LocalKeyStoreOptions store_options;
  store_options.directory = ResolveHome(options);
  WarnIfWorldWritable(store_options.directory);
  if (!options.passphrase_file.empty()) {
    KMS_ASSIGN_OR_RETURN(store_options.passphrase, ReadPassphraseFile(options.passphrase_file));
  }
  absl::StatusOr<std::unique_ptr<local::LocalKeyStore>> store =
      local::LocalKeyStore::Open(store_options);
  if (!store_options.passphrase.empty()) {
    sodium_memzero(store_options.passphrase.data(), store_options.passphrase.size());
  }
  if (!store.ok()) return store.status();
  return std::shared_ptr<local::LocalKeyStore>(*std::move(store));
}

absl::StatusOr<std::unique_ptr<KeyProvider>> MakeProvider(const GlobalOptions& options) {
  const bool instance_flags = !options.client_key_file.empty() ||
                              !options.client_key_password_file.empty() ||
                              !options.ca_file.empty();
  if (!options.kms_instance_endpoint.empty() || instance_flags) {
    return MakeInstanceProvider(options);
  }
  if (!options.kms_endpoint.empty()) {
    // ---- REMOTE PROVIDER BRANCH (owned by the remote helper) ----
    // A RemoteKeyProvider for options.kms_endpoint (URL or region id) with credentials from the
    // environment; KMS_ENVELOPE_CA_FILE adds a CA bundle (a `kms-envelope serve --tls-cert`
    // with a private CA), KMS_ENVELOPE_SIGNATURE_VERSION=3 selects ACS3-HMAC-SHA256.
    KMS_ASSIGN_OR_RETURN(remote::Credentials credentials, remote::Credentials::FromEnvironment());
    remote::RemoteKeyProviderOptions remote_options;
    remote_options.endpoint = options.kms_endpoint;
    if (const char* ca = std::getenv("KMS_ENVELOPE_CA_FILE"); ca != nullptr) {
      remote_options.ca_file = ca;
    }
    if (const char* v = std::getenv("KMS_ENVELOPE_SIGNATURE_VERSION");
        v != nullptr && std::string(v) == "3") {
      remote_options.signature_version = remote::SignatureVersion::kV3;
    }
    KMS_ASSIGN_OR_RETURN(std::unique_ptr<remote::RemoteKeyProvider> remote_provider,
                         remote::RemoteKeyProvider::New(std::move(remote_options),
                                                        std::move(credentials)));
    return std::unique_ptr<KeyProvider>(std::move(remote_provider));
  }
  KMS_ASSIGN_OR_RETURN(std::shared_ptr<local::LocalKeyStore> store, OpenLocalStore(options));
  KMS_ASSIGN_OR_RETURN(std::unique_ptr<local::LocalKeyProvider> provider,
                       local::LocalKeyProvider::New(std::move(store)));
  return std::unique_ptr<KeyProvider>(std::move(provider));
}

}  // namespace cli
}  // namespace kms_envelope
