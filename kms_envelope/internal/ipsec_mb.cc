#include "kms_envelope/internal/ipsec_mb.h"

#include <intel-ipsec-mb.h>

#include <memory>

#include "absl/strings/str_cat.h"

namespace kms_envelope {
namespace internal {
namespace {

IpsecMbArch FromImbArch(IMB_ARCH arch);

// Allocates and initialises a manager for `arch`; nullptr if the CPU cannot run that code path.
// `*resolved` (optional) receives the arch kAuto picked.
IMB_MGR* NewManager(IpsecMbArch arch, IpsecMbArch* resolved = nullptr) {
  IMB_MGR* mgr = alloc_mb_mgr(0);
  if (mgr == nullptr) return nullptr;
  IMB_ARCH picked = IMB_ARCH_NONE;
  switch (arch) {
    case IpsecMbArch::kAuto:
      init_mb_mgr_auto(mgr, &picked);
      break;
    case IpsecMbArch::kSse:
      init_mb_mgr_sse(mgr);
      picked = IMB_ARCH_SSE;
      break;
    case IpsecMbArch::kAvx:
      init_mb_mgr_avx(mgr);
      picked = IMB_ARCH_AVX;
      break;
    case IpsecMbArch::kAvx2:
      init_mb_mgr_avx2(mgr);
      picked = IMB_ARCH_AVX2;
      break;
    case IpsecMbArch::kAvx512:
      init_mb_mgr_avx512(mgr);
      picked = IMB_ARCH_AVX512;
      break;
  }
  // The SSE path needs AES-NI and PCLMULQDQ; without them the library would fall back to its
  // software AES ("no AES-NI"), which we leave to OpenSSL / libsodium.
  const bool has_aesni = (mgr->features & IMB_FEATURE_AESNI) != 0 &&
                         (mgr->features & IMB_FEATURE_PCLMULQDQ) != 0;
  if (imb_get_errno(mgr) != 0 || picked == IMB_ARCH_NONE || picked == IMB_ARCH_NOAESNI ||
      !has_aesni) {
    free_mb_mgr(mgr);
    return nullptr;
  }
  if (resolved != nullptr) *resolved = FromImbArch(picked);
  return mgr;
}

IpsecMbArch FromImbArch(IMB_ARCH arch) {
  switch (arch) {
    case IMB_ARCH_SSE:
      return IpsecMbArch::kSse;
    case IMB_ARCH_AVX:
      return IpsecMbArch::kAvx;
    case IMB_ARCH_AVX2:
      return IpsecMbArch::kAvx2;
    case IMB_ARCH_AVX512:
      return IpsecMbArch::kAvx512;
    default:
      return IpsecMbArch::kAuto;
  }
}

struct AutoManager {
  IMB_MGR* mgr = nullptr;
  IpsecMbArch arch = IpsecMbArch::kAuto;
};

const AutoManager& Auto() {
  static const AutoManager* instance = [] {
    auto* a = new AutoManager();
    a->mgr = NewManager(IpsecMbArch::kAuto, &a->arch);
    return a;
  }();
  return *instance;
}

}  // namespace

const IMB_MGR* IpsecMbManager(IpsecMbArch arch) {
  if (arch == IpsecMbArch::kAuto) return Auto().mgr;
  static IMB_MGR* const managers[] = {nullptr, NewManager(IpsecMbArch::kSse),
                                      NewManager(IpsecMbArch::kAvx),
                                      NewManager(IpsecMbArch::kAvx2),
                                      NewManager(IpsecMbArch::kAvx512)};
  return managers[static_cast<int>(arch)];
}

IpsecMbArch IpsecMbAutoArch() { return Auto().arch; }

std::string_view IpsecMbArchName(IpsecMbArch arch) {
  switch (arch) {
    case IpsecMbArch::kSse:
      return "sse";
    case IpsecMbArch::kAvx:
      return "avx";
    case IpsecMbArch::kAvx2:
      return "avx2";
    case IpsecMbArch::kAvx512:
      return "avx512";
    case IpsecMbArch::kAuto:
      break;
  }
  return "auto";
}

std::string IpsecMbVersion() { return absl::StrCat("intel-ipsec-mb ", imb_get_version_str()); }

IMB_MGR* IpsecMbThreadJobManager() {
  struct Deleter {
    void operator()(IMB_MGR* m) const { free_mb_mgr(m); }
  };
  thread_local std::unique_ptr<IMB_MGR, Deleter> mgr(
      Auto().mgr != nullptr ? NewManager(IpsecMbArch::kAuto) : nullptr);
  return mgr.get();
}

}  // namespace internal
}  // namespace kms_envelope
