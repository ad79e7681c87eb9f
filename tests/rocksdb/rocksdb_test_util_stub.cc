// INTERIM stand-in for the local KMS (a minimal in-memory KeyProvider) until kms_envelope/local
// lands; NewTestKms will then open a real LocalKeyStore + LocalKeyProvider under $TEST_TMPDIR.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "kms_envelope/internal/aead.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/internal/random.h"
#include "kms_envelope/kms_error.h"
#include "tests/rocksdb/rocksdb_test_util.h"

namespace kms_envelope {
namespace rocksdb_test {
namespace {
class Stub : public KeyProvider {
 public:
  std::mutex mu;
  std::map<std::string, std::string> keys;     // version -> key
  std::map<std::string, std::string> primary;  // key -> version
  std::map<std::string, std::string> owner;    // version -> key
  std::string_view provider_id() const override { return "local"; }
  std::string Rand36() {
    uint8_t b[18];
    internal::FillRandom(absl::MakeSpan(b));
    return internal::HexEncode(absl::MakeSpan(b));
  }
  std::string NewKey() {
    std::lock_guard<std::mutex> l(mu);
    std::string id = Rand36();
    std::string v = Rand36();
    std::string k(32, 0);
    internal::FillRandom(absl::MakeSpan(reinterpret_cast<uint8_t*>(k.data()), 32));
    keys[v] = k; primary[id] = v; owner[v] = id;
    return id;
  }
  std::string Rotate(const std::string& id) {
    std::lock_guard<std::mutex> l(mu);
    std::string v = Rand36();
    std::string k(32, 0);
    internal::FillRandom(absl::MakeSpan(reinterpret_cast<uint8_t*>(k.data()), 32));
    keys[v] = k; primary[id] = v; owner[v] = id;
    return v;
  }
  absl::StatusOr<EncryptResponse> Encrypt(const EncryptRequest& r) override {
    std::string id(r.key_id), v, k;
    { std::lock_guard<std::mutex> l(mu); if (!primary.count(id)) return KmsError(kms_code::kKeyNotFound, "no such key"); v = primary[id]; k = keys[v]; }
    auto key = internal::AeadKey::New(internal::AeadAlgorithm::kXChaCha20Poly1305, internal::Bytes(k));
    std::string nonce(24, 0);
    internal::FillRandom(absl::MakeSpan(reinterpret_cast<uint8_t*>(nonce.data()), 24));
    std::string ct(r.plaintext.size() + 16, 0);
    const EncryptionContext& c = r.encryption_context ? *r.encryption_context : EncryptionContext::Empty();
    if (!key->Seal(internal::Bytes(nonce), c.Canonical(), r.plaintext, absl::MakeSpan(reinterpret_cast<uint8_t*>(ct.data()), ct.size())).ok()) return absl::InternalError("x");
    EncryptResponse out; out.key_id = id; out.key_version_id = v; out.ciphertext_blob = v + nonce + ct; out.request_id = "req"; return out;
  }
  absl::Status GenerateDataKeyInto(const GenerateDataKeyRequest& r, GenerateDataKeyResponse* resp) override {
    auto pt = SecretBytes::New(32); internal::FillRandom(pt->mutable_span());
    EncryptRequest e; e.key_id = r.key_id; e.plaintext = pt->span(); e.encryption_context = r.encryption_context;
    auto er = Encrypt(e); if (!er.ok()) return er.status();
    resp->key_id = er->key_id; resp->key_version_id = er->key_version_id; resp->ciphertext_blob = er->ciphertext_blob; resp->plaintext = *std::move(pt); resp->request_id = "req";
    return absl::OkStatus();
  }
  absl::Status DecryptInto(const DecryptRequest& r, DecryptResponse* resp) override {
    if (r.ciphertext_blob.size() < 36 + 24 + 16) return KmsError(kms_code::kInvalidCiphertext, "short");
    std::string v(reinterpret_cast<const char*>(r.ciphertext_blob.data()), 36), k, id;
    { std::lock_guard<std::mutex> l(mu); if (!keys.count(v)) return KmsError(kms_code::kKeyNotFound, "no such key version"); k = keys[v]; id = owner[v]; }
    auto key = internal::AeadKey::New(internal::AeadAlgorithm::kXChaCha20Poly1305, internal::Bytes(k));
    auto pt = SecretBytes::New(r.ciphertext_blob.size() - 36 - 24 - 16);
    const EncryptionContext& c = r.encryption_context ? *r.encryption_context : EncryptionContext::Empty();
    if (!key->Open(r.ciphertext_blob.subspan(36, 24), c.Canonical(), r.ciphertext_blob.subspan(60), pt->mutable_span()).ok()) return KmsError(kms_code::kInvalidCiphertext, "bad");
    resp->key_id = id; resp->key_version_id = v; resp->plaintext = *std::move(pt); return absl::OkStatus();
  }
  absl::StatusOr<GenerateDataKeyWithoutPlaintextResponse> GenerateDataKeyWithoutPlaintext(const GenerateDataKeyRequest&) override { return absl::UnimplementedError("x"); }
  absl::StatusOr<ReEncryptResponse> ReEncrypt(const ReEncryptRequest&) override { return absl::UnimplementedError("x"); }
};
}  // namespace

absl::StatusOr<TestKms> NewTestKms(const std::string& name) {
  auto stub = std::make_shared<Stub>();
  TestKms kms;
  kms.provider = stub;
  kms.key_id = stub->NewKey();
  kms.dir = TempPath(name);
  kms.create_key = [stub]() -> absl::StatusOr<std::string> { return stub->NewKey(); };
  kms.rotate_key = [stub](const std::string& id) -> absl::StatusOr<std::string> { return stub->Rotate(id); };
  return kms;
}

std::string TempPath(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return std::string(tmp != nullptr ? tmp : "/tmp") + "/" + name;
}

std::vector<std::string> ListFiles(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file()) out.push_back(it->path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::Status PatchFile(const std::string& path, size_t offset, const std::string& bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(path);
  ssize_t w = ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
  ::close(fd);
  if (w != static_cast<ssize_t>(bytes.size())) return absl::InternalError("short write");
  return absl::OkStatus();
}

}  // namespace rocksdb_test
}  // namespace kms_envelope
