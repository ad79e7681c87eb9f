// A KeyProvider decorator for envelope tests: counts calls and injects faults, delegating
// everything else to a real provider (normally a LocalKeyProvider).
//
//   auto counting = std::make_shared<EnvelopeFaultProvider>(local_provider);
//   ... envelope->Open(...) ...
//   EXPECT_EQ(counting->decrypt_calls(), 0);
//
// Test only. Thread safe (atomic counters; fault switches set before use).
#ifndef KMS_ENVELOPE_TESTING_ENVELOPE_FAULT_PROVIDER_H_
#define KMS_ENVELOPE_TESTING_ENVELOPE_FAULT_PROVIDER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "kms_envelope/key_provider.h"

namespace kms_envelope {
namespace testing {

class EnvelopeFaultProvider : public KeyProvider {
 public:
  explicit EnvelopeFaultProvider(std::shared_ptr<KeyProvider> inner) : inner_(std::move(inner)) {}

  // Faults (set before the provider is used).
  void set_fail_decrypt(bool v) { fail_decrypt_ = v; }
  // Decrypt succeeds but returns this many bytes of 0x5a instead of the real data key.
  void set_substitute_data_key(bool v) { substitute_data_key_ = v; }
  // ReEncrypt answers Unimplemented (UnsupportedOperation), as a provider without it would.
  void set_reencrypt_unsupported(bool v) { reencrypt_unsupported_ = v; }
  // Report another provider id (to route headers to this instance).
  void set_provider_id(std::string id) { provider_id_override_ = std::move(id); }
  // Responses claim `from_cache` (to check the audit hook forwards it).
  void set_from_cache(bool v) { from_cache_ = v; }
  // Runs before each GenerateDataKeyInto reaches the inner provider (e.g. to re-enter an
  // Envelope on the same thread).
  void set_before_generate(std::function<void()> f) { before_generate_ = std::move(f); }
  // Runs on each successful GenerateDataKeyInto response; its status becomes the call's (to
  // observe the data key buffer, or to fail after the key was written).
  void set_after_generate(std::function<absl::Status(GenerateDataKeyResponse*)> f) {
    after_generate_ = std::move(f);
  }
  // The same for each successful DecryptInto response.
  void set_after_decrypt(std::function<absl::Status(DecryptResponse*)> f) {
    after_decrypt_ = std::move(f);
  }

  int generate_calls() const { return generate_calls_; }
  int decrypt_calls() const { return decrypt_calls_; }
  int encrypt_calls() const { return encrypt_calls_; }
  int reencrypt_calls() const { return reencrypt_calls_; }
  int total_calls() const {
    return generate_calls_ + decrypt_calls_ + encrypt_calls_ + reencrypt_calls_;
  }

  std::string_view provider_id() const override;
  absl::Status GenerateDataKeyInto(const GenerateDataKeyRequest& request,
                                   GenerateDataKeyResponse* response) override;
  absl::Status DecryptInto(const DecryptRequest& request, DecryptResponse* response) override;
  absl::StatusOr<GenerateDataKeyWithoutPlaintextResponse> GenerateDataKeyWithoutPlaintext(
      const GenerateDataKeyRequest& request) override;
  absl::StatusOr<EncryptResponse> Encrypt(const EncryptRequest& request) override;
  absl::StatusOr<ReEncryptResponse> ReEncrypt(const ReEncryptRequest& request) override;

 private:
  std::shared_ptr<KeyProvider> inner_;
  bool fail_decrypt_ = false;
  bool substitute_data_key_ = false;
  bool reencrypt_unsupported_ = false;
  bool from_cache_ = false;
  std::optional<std::string> provider_id_override_;
  std::function<void()> before_generate_;
  std::function<absl::Status(GenerateDataKeyResponse*)> after_generate_;
  std::function<absl::Status(DecryptResponse*)> after_decrypt_;
  std::atomic<int> generate_calls_{0};
  std::atomic<int> decrypt_calls_{0};
  std::atomic<int> encrypt_calls_{0};
  std::atomic<int> reencrypt_calls_{0};
};

}  // namespace testing
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_TESTING_ENVELOPE_FAULT_PROVIDER_H_
