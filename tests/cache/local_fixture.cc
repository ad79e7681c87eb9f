// INTERIM stand-in until kms_envelope/local lands: a minimal AES-GCM wrapping provider with the
// documented blob layout. Replaced by the real LocalKeyProvider.
#include "tests/cache/local_fixture.h"

#include <cstdio>
#include <cstring>
#include <map>

#include "kms_envelope/internal/aead.h"
#include "kms_envelope/internal/random.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace cache_testing {
namespace {

class InterimProvider : public KeyProvider {
 public:
  std::string_view provider_id() const override { return "local"; }
  absl::Status GenerateDataKeyInto(const GenerateDataKeyRequest& request,
                                   GenerateDataKeyResponse* response) override {
    auto size = ResolveDataKeySize(request.key_spec, request.number_of_bytes);
    if (!size.ok()) return size.status();
    auto it = keys_.find(request.key_id);
    if (it == keys_.end()) return KmsError(kms_code::kKeyNotFound, "no such key");
    const Cmk& cmk = it->second;
    if (response->plaintext.size() != *size) {
      auto p = SecretBytes::New(*size);
      if (!p.ok()) return p.status();
      response->plaintext = *std::move(p);
    }
    internal::FillRandom(response->plaintext.mutable_span());
    response->ciphertext_blob.resize(36 + 12 + *size + 16);
    uint8_t* b = reinterpret_cast<uint8_t*>(response->ciphertext_blob.data());
    std::memcpy(b, cmk.version.data(), 36);
    internal::FillRandom(absl::MakeSpan(b + 36, 12));
    const EncryptionContext& ctx = request.encryption_context ? *request.encryption_context : EncryptionContext::Empty();
    absl::Status s = cmk.key->Seal(absl::MakeConstSpan(b + 36, 12), ctx.Canonical(),
                                   response->plaintext.span(), absl::MakeSpan(b + 48, *size + 16));
    if (!s.ok()) return s;
    response->key_id.assign(cmk.guid);
    response->key_version_id.assign(cmk.version);
    response->request_id.assign("req");
    response->from_cache = false;
    return absl::OkStatus();
  }
  absl::Status DecryptInto(const DecryptRequest& request, DecryptResponse* response) override {
    auto blob = request.ciphertext_blob;
    if (blob.size() < 36 + 12 + 16 + 1) return KmsError(kms_code::kInvalidCiphertext, "short");
    std::string version(reinterpret_cast<const char*>(blob.data()), 36);
    const Cmk* cmk = nullptr;
    for (auto& [id, c] : keys_) if (c.version == version) cmk = &c;
    if (!cmk) return KmsError(kms_code::kInvalidCiphertext, "unknown version");
    size_t n = blob.size() - 36 - 12 - 16;
    if (response->plaintext.size() != n) {
      auto p = SecretBytes::New(n);
      if (!p.ok()) return p.status();
      response->plaintext = *std::move(p);
    }
    const EncryptionContext& ctx = request.encryption_context ? *request.encryption_context : EncryptionContext::Empty();
    if (!cmk->key->Open(blob.subspan(36, 12), ctx.Canonical(), blob.subspan(48),
                        response->plaintext.mutable_span()).ok()) {
      return KmsError(kms_code::kInvalidCiphertext, "authentication failed");
    }
    response->key_id.assign(cmk->guid);
    response->key_version_id.assign(cmk->version);
    response->request_id.assign("req");
    response->from_cache = false;
    return absl::OkStatus();
  }
  absl::StatusOr<GenerateDataKeyWithoutPlaintextResponse> GenerateDataKeyWithoutPlaintext(
      const GenerateDataKeyRequest&) override { return absl::UnimplementedError("interim"); }
  absl::StatusOr<EncryptResponse> Encrypt(const EncryptRequest&) override { return absl::UnimplementedError("interim"); }
  absl::StatusOr<ReEncryptResponse> ReEncrypt(const ReEncryptRequest&) override { return absl::UnimplementedError("interim"); }

  struct Cmk {
    std::string guid, version;
    std::shared_ptr<internal::AeadKey> key;
  };
  std::map<std::string, Cmk, std::less<>> keys_;
};

class InterimFixture : public LocalFixture {
 public:
  InterimFixture() : provider_(std::make_shared<InterimProvider>()) {
    auto add = [&](std::string guid, std::string version) {
      uint8_t raw[32];
      internal::FillRandom(absl::MakeSpan(raw));
      auto k = internal::AeadKey::New(internal::AeadAlgorithm::kAes256Gcm, absl::MakeConstSpan(raw));
      provider_->keys_[guid] = {guid, version, std::make_shared<internal::AeadKey>(*std::move(k))};
      return provider_->keys_[guid];
    };
    add(a_ = "aaaaaaaa-0000-4000-8000-000000000001", "aaaaaaaa-0000-4000-8000-0000000000v1");
    auto b = add(b_guid_ = "bbbbbbbb-0000-4000-8000-000000000002", "bbbbbbbb-0000-4000-8000-0000000000v1");
    b_ = "alias/b";
    provider_->keys_[b_] = b;
  }
  KeyProvider* provider() override { return provider_.get(); }
  std::shared_ptr<KeyProvider> shared() override { return provider_; }
  const std::string& key_a() const override { return a_; }
  const std::string& key_b() const override { return b_; }
  const std::string& key_b_guid() const override { return b_guid_; }

 private:
  std::shared_ptr<InterimProvider> provider_;
  std::string a_, b_, b_guid_;
};

}  // namespace

std::unique_ptr<LocalFixture> NewLocalFixture() { return std::make_unique<InterimFixture>(); }

}  // namespace cache_testing
}  // namespace kms_envelope
