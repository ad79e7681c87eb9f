// The library's version: one place for the CLI's --version, the shared library's SONAME
// (kms_envelope/packaging), pkg-config, CMake and the Debian package.
//
//   std::printf("kms_envelope %s\n", kms_envelope::kVersion);
//
// The major version changes when the C++ or C ABI changes incompatibly; the shared library is
// libkms_envelope.so.<major>.
#ifndef KMS_ENVELOPE_VERSION_H_
#define KMS_ENVELOPE_VERSION_H_

#define KMS_ENVELOPE_VERSION_MAJOR 0
#define KMS_ENVELOPE_VERSION_MINOR 1
#define KMS_ENVELOPE_VERSION_PATCH 0
#define KMS_ENVELOPE_VERSION_STRING "0.1.0"

#ifdef __cplusplus
namespace kms_envelope {
inline constexpr char kVersion[] = KMS_ENVELOPE_VERSION_STRING;
}  // namespace kms_envelope
#endif

#endif  // KMS_ENVELOPE_VERSION_H_
