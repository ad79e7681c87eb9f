// Test double for the cache tests: counts the calls that reach a real provider, can hold the
// first call until a condition holds (to line up concurrent misses), can fail with a given status
// (fault injection) and can report another provider id.
#ifndef KMS_ENVELOPE_TESTS_CACHE_COUNTING_PROVIDER_H_
#define KMS_ENVELOPE_TESTS_CACHE_COUNTING_PROVIDER_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "kms_envelope/cache/caching_key_provider.h"
#include "kms_envelope/key_provider.h"

namespace kms_envelope {
namespace cache_testing {

class CountingProvider : public KeyProvider {
 public:
  explicit CountingProvider(KeyProvider* inner) : inner_(inner) {}

  // Every call first waits (polling) until `gate` returns true.
  void set_gate(std::function<bool()> gate) { gate_ = std::move(gate); }
  // Every call fails with `status` (after the gate) instead of reaching the inner provider.
  void set_failure(absl::Status status) { failure_ = std::move(status); }
  // Runs on each successful GenerateDataKeyInto response (e.g. to learn the key it carries).
  void set_after_generate(std::function<void(GenerateDataKeyResponse*)> f) {
    after_generate_ = std::move(f);
  }
  void set_provider_id(std::string id) {
    std::lock_guard<std::mutex> lock(mu_);
    id_ = std::move(id);
  }

  int generate_calls() const { return generate_calls_.load(); }
  int decrypt_calls() const { return decrypt_calls_.load(); }

  std::string_view provider_id() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return id_.empty() ? inner_->provider_id() : std::string_view(id_);
  }

  absl::Status GenerateDataKeyInto(const GenerateDataKeyRequest& request,
                                   GenerateDataKeyResponse* response) override {
    ++generate_calls_;
    Wait();
    if (!failure_.ok()) return failure_;
    absl::Status s = inner_->GenerateDataKeyInto(request, response);
    if (s.ok() && after_generate_) after_generate_(response);
    return s;
  }
  absl::Status DecryptInto(const DecryptRequest& request, DecryptResponse* response) override {
    ++decrypt_calls_;
    Wait();
    if (!failure_.ok()) return failure_;
    return inner_->DecryptInto(request, response);
  }
  absl::StatusOr<GenerateDataKeyWithoutPlaintextResponse> GenerateDataKeyWithoutPlaintext(
      const GenerateDataKeyRequest& request) override {
    return inner_->GenerateDataKeyWithoutPlaintext(request);
  }
  absl::StatusOr<EncryptResponse> Encrypt(const EncryptRequest& request) override {
    return inner_->Encrypt(request);
  }
  absl::StatusOr<ReEncryptResponse> ReEncrypt(const ReEncryptRequest& request) override {
    return inner_->ReEncrypt(request);
  }

 private:
  void Wait() {
    if (!gate_) return;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!gate_() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  KeyProvider* inner_;
  mutable std::mutex mu_;
  std::string id_;
  std::function<bool()> gate_;
  std::function<void(GenerateDataKeyResponse*)> after_generate_;
  absl::Status failure_;
  std::atomic<int> generate_calls_{0};
  std::atomic<int> decrypt_calls_{0};
};

// A clock the test moves by hand.
class ManualClock : public cache::Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }
  void Advance(std::chrono::nanoseconds d) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += d;
  }

 private:
  mutable std::mutex mu_;
  std::chrono::steady_clock::time_point now_ = std::chrono::steady_clock::time_point() +
                                               std::chrono::hours(1);
};

}  // namespace cache_testing
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_TESTS_CACHE_COUNTING_PROVIDER_H_
