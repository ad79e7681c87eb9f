// Process-wide intel-ipsec-mb managers, one per code path ("arch"), for the direct (stateless)
// AES-GCM API and a per-thread manager for the job API (AES-CTR).
//
//   const IMB_MGR* mgr = IpsecMbManager(IpsecMbArch::kAuto);
//   if (mgr != nullptr) IMB_AES256_GCM_PRE(mgr, key, key_data);
//
// Contract:
// - IpsecMbManager(kAuto) is the manager init_mb_mgr_auto picked for this CPU (VAES/AVX-512,
//   AVX2, AVX or SSE); nullptr when the CPU has no AES-NI (the library's "no AES-NI" emulation
//   is not used: OpenSSL / libsodium are the fallback there) or the library cannot allocate.
// - IpsecMbManager(arch) for a specific arch returns nullptr when this CPU lacks what that code
//   path needs (the library reports IMB_ERR_MISSING_CPUFLAGS_INIT_MGR).
// - Managers are created once, never freed, and only read afterwards: the GCM direct API keeps
//   all its state in the caller's gcm_key_data / gcm_context_data, so one manager serves every
//   thread. The job API (queues inside the manager) must use IpsecMbThreadJobManager().
#ifndef KMS_ENVELOPE_INTERNAL_IPSEC_MB_H_
#define KMS_ENVELOPE_INTERNAL_IPSEC_MB_H_

#include <cstdint>
#include <string>
#include <string_view>

struct IMB_MGR;

namespace kms_envelope {
namespace internal {

enum class IpsecMbArch : uint8_t { kAuto = 0, kSse = 1, kAvx = 2, kAvx2 = 3, kAvx512 = 4 };

// nullptr when unavailable (see above).
const IMB_MGR* IpsecMbManager(IpsecMbArch arch);

// The arch kAuto resolves to; kAuto itself when ipsec-mb is unusable here.
IpsecMbArch IpsecMbAutoArch();

// "sse", "avx", "avx2", "avx512" ("auto" for kAuto).
std::string_view IpsecMbArchName(IpsecMbArch arch);

// "intel-ipsec-mb 1.3.0" (the library's own version string at run time).
std::string IpsecMbVersion();

// This thread's job-API manager on the kAuto arch (nullptr when unavailable). Owned by the
// thread; freed (the library wipes nothing in it that we put there: jobs carry pointers only)
// at thread exit.
IMB_MGR* IpsecMbThreadJobManager();

}  // namespace internal
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_INTERNAL_IPSEC_MB_H_
