#include "fuzz/fuzz_store.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "kms_envelope/internal/aead.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/local/local_key_store.h"

namespace kms_envelope {
namespace fuzz {
namespace {

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "fuzz fixture: %s\n", what.c_str());
  std::exit(3);
}

// TEST-ONLY key material, published on purpose.
std::string Material(uint8_t seed) {
  std::string raw(32, '\0');
  for (size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<char>(seed + 17 * i);
  return internal::Base64Encode(raw);
}

void WriteFile(const std::string& path, const std::string& bytes, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) Die("cannot create " + path);
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) Die("cannot write " + path);
    done += static_cast<size_t>(n);
  }
  ::close(fd);
}

}  // namespace

const EncryptionContext& SeedContext() {
  static const EncryptionContext* ctx = [] {
    auto c = EncryptionContext::FromJson(R"({"purpose":"fuzz","tenant":"seed"})");
    if (!c.ok()) Die("seed context");
    return new EncryptionContext(*std::move(c));
  }();
  return *ctx;
}

absl::Span<const uint8_t> RootKey() {
  static const uint8_t kRoot[32] = {
      0x52, 0x4f, 0x4f, 0x54, 0x2d, 0x4b, 0x45, 0x59, 0x2d, 0x46, 0x55, 0x5a, 0x5a, 0x2d, 0x4f, 0x4e,
      0x4c, 0x59, 0x2d, 0x54, 0x45, 0x53, 0x54, 0x2d, 0x4b, 0x45, 0x59, 0x2d, 0x30, 0x30, 0x30, 0x31};
  return absl::MakeConstSpan(kRoot);
}

const std::string& StoreDocument() {
  static const std::string* doc = [] {
    const std::string date = "2026-11-29T00:00:00Z";
    std::string d = "{\"FormatVersion\":1,\"Keys\":[";
    auto key = [&](std::string_view id, std::string_view state,
                   std::vector<std::pair<std::string_view, uint8_t>> versions) {
      std::string k = "{\"KeyId\":\"" + std::string(id) + "\",\"Description\":\"fuzz\",\"KeyState\":\"" +
                      std::string(state) + "\",\"CreationDate\":\"" + date +
                      "\",\"DeleteDate\":\"\",\"LastRotationDate\":\"" + date +
                      "\",\"PrimaryKeyVersion\":\"" + std::string(versions.back().first) +
                      "\",\"Versions\":[";
      for (size_t i = 0; i < versions.size(); ++i) {
        if (i) k += ",";
        k += "{\"KeyVersionId\":\"" + std::string(versions[i].first) + "\",\"CreationDate\":\"" +
             date + "\",\"Material\":\"" + Material(versions[i].second) + "\"}";
      }
      return k + "]}";
    };
    d += key(kEnabledKeyId, "Enabled", {{kEnabledKeyOldVersion, 1}, {kEnabledKeyPrimaryVersion, 2}});
    d += "," + key(kSecondKeyId, "Enabled", {{kSecondKeyVersion, 3}});
    d += "," + key(kDisabledKeyId, "Disabled", {{kDisabledKeyVersion, 4}});
    d += "],\"Aliases\":[{\"AliasName\":\"" + std::string(kAlias) + "\",\"KeyId\":\"" +
         std::string(kEnabledKeyId) + "\"}]}";
    return new std::string(d);
  }();
  return *doc;
}

std::string SealStoreFile(std::string_view document) {
  // docs/store-format.md: magic(8) version(u16=1) kind(1: root key file) reserved(0)
  // opslimit(u64) memlimit(u64) salt(16) nonce(24) sealed_size(u32); AAD = these 72 bytes.
  constexpr size_t kHeader = 72;
  std::string file(kHeader + document.size() + internal::kAeadTagSize, '\0');
  uint8_t* h = reinterpret_cast<uint8_t*>(file.data());
  std::memcpy(h, "KMSESTOR", 8);
  internal::StoreBigEndian16(1, h + 8);
  h[10] = 1;
  for (int i = 0; i < 24; ++i) h[44 + i] = static_cast<uint8_t>(0x30 + i);  // fixed nonce (test)
  internal::StoreBigEndian32(static_cast<uint32_t>(document.size() + internal::kAeadTagSize),
                             h + 68);
  auto key = internal::AeadKey::New(internal::AeadAlgorithm::kXChaCha20Poly1305, RootKey());
  if (!key.ok()) Die("root key");
  absl::Status s = key->Seal(absl::MakeConstSpan(h + 44, 24), absl::MakeConstSpan(h, kHeader),
                             internal::Bytes(document),
                             absl::MakeSpan(h + kHeader, file.size() - kHeader));
  if (!s.ok()) Die("seal store");
  return file;
}

std::string MakeStoreDir(std::string_view document) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string templ = std::string(tmp != nullptr ? tmp : "/tmp") + "/kms-fuzz-store-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) Die("mkdtemp");
  std::string dir(buf.data());
  absl::Span<const uint8_t> root = RootKey();
  WriteFile(dir + "/root.key", std::string(root.begin(), root.end()), 0600);
  WriteFile(dir + "/keystore.bin", SealStoreFile(document), 0600);
  return dir;
}

std::shared_ptr<local::LocalKeyProvider> OpenProvider(const std::string& dir) {
  local::LocalKeyStoreOptions options;
  options.directory = dir;
  auto store = local::LocalKeyStore::Open(options);
  if (!store.ok()) Die("cannot open the fixed store: " + store.status().ToString());
  auto provider = local::LocalKeyProvider::New(std::shared_ptr<local::LocalKeyStore>(*std::move(store)));
  if (!provider.ok()) Die("cannot create the provider: " + provider.status().ToString());
  return std::shared_ptr<local::LocalKeyProvider>(*std::move(provider));
}

std::string SelfCheckingPlaintext(std::string_view body) {
  uint8_t tag[16];
  crypto_generichash(tag, sizeof(tag), reinterpret_cast<const uint8_t*>(body.data()), body.size(),
                     nullptr, 0);
  return std::string(reinterpret_cast<const char*>(tag), sizeof(tag)) + std::string(body);
}

bool IsSelfChecking(absl::Span<const uint8_t> plaintext) {
  if (plaintext.empty()) return true;  // a sealed empty message
  if (plaintext.size() < 16) return false;
  uint8_t tag[16];
  crypto_generichash(tag, sizeof(tag), plaintext.data() + 16, plaintext.size() - 16, nullptr, 0);
  return std::memcmp(tag, plaintext.data(), sizeof(tag)) == 0;
}

}  // namespace fuzz
}  // namespace kms_envelope
