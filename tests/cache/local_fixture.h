// A local KMS for the cache tests and benchmarks: a CMK store in a temporary directory with two
// CMKs (a, b) and a LocalKeyProvider over it.
#ifndef KMS_ENVELOPE_TESTS_CACHE_LOCAL_FIXTURE_H_
#define KMS_ENVELOPE_TESTS_CACHE_LOCAL_FIXTURE_H_

#include <memory>
#include <string>

#include "kms_envelope/key_provider.h"

namespace kms_envelope {
namespace cache_testing {

class LocalFixture {
 public:
  virtual ~LocalFixture() = default;
  virtual KeyProvider* provider() = 0;
  // The same provider as a shared_ptr (for Envelope options).
  virtual std::shared_ptr<KeyProvider> shared() = 0;
  // Key ids to pass as KeyId (a GUID or an alias) and the GUID of CMK b.
  virtual const std::string& key_a() const = 0;
  virtual const std::string& key_b() const = 0;
  virtual const std::string& key_b_guid() const = 0;
};

// Null on failure (the reason is printed to stderr).
std::unique_ptr<LocalFixture> NewLocalFixture();

}  // namespace cache_testing
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_TESTS_CACHE_LOCAL_FIXTURE_H_
