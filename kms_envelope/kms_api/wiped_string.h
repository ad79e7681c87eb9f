// WipedString: a std::basic_string whose every heap buffer is wiped (sodium_memzero) before it
// is freed, including the buffers left behind when the string grows. For request and response
// text that may contain key material on its way to or from the wire (the base64 Plaintext of
// Encrypt / GenerateDataKey / Decrypt), where SecretBytes cannot be used because the text is
// percent-encoded, signed, parsed as JSON, ...
//
//   WipedString query;
//   query.reserve(4096);
//   AppendPercentEncoded(plaintext_b64, &query);   // wiped when `query` goes away
//
// Limits: a short string may live in the object itself (small-string optimization) and is not
// wiped; key material is never that short once base64-encoded inside a request (a 1-byte key
// encodes to 4 characters, but the parameter string around it is far longer than the SSO
// buffer). This is a best effort for non-secret-typed text, not a replacement for SecretBytes.
#ifndef KMS_ENVELOPE_KMS_API_WIPED_STRING_H_
#define KMS_ENVELOPE_KMS_API_WIPED_STRING_H_

#include <sodium.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace kms_envelope {
namespace kms_api {

template <typename T>
struct WipingAllocator {
  using value_type = T;
  WipingAllocator() noexcept = default;
  template <typename U>
  WipingAllocator(const WipingAllocator<U>&) noexcept {}
  T* allocate(size_t n) { return std::allocator<T>().allocate(n); }
  void deallocate(T* p, size_t n) noexcept {
    sodium_memzero(p, n * sizeof(T));
    std::allocator<T>().deallocate(p, n);
  }
  template <typename U>
  bool operator==(const WipingAllocator<U>&) const noexcept { return true; }
  template <typename U>
  bool operator!=(const WipingAllocator<U>&) const noexcept { return false; }
};

using WipedString = std::basic_string<char, std::char_traits<char>, WipingAllocator<char>>;

inline WipedString ToWiped(std::string_view s) { return WipedString(s.data(), s.size()); }
// Wipes the whole buffer of `s` (including an SSO buffer) and empties it.
inline void WipeString(WipedString* s) {
  s->resize(s->capacity());
  sodium_memzero(s->data(), s->size());
  s->clear();
}
inline void WipeString(std::string* s) {
  s->resize(s->capacity());
  sodium_memzero(s->data(), s->size());
  s->clear();
}

}  // namespace kms_api
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_KMS_API_WIPED_STRING_H_
