// Branch key administration through the C API (docs/branch-keys.md): create, rotate, list.
#include <cstdint>
#include <memory>
#include <string>

#include "kms_envelope/branch/branch_key_admin.h"
#include "kms_envelope/branch/branch_key_store_spec.h"
#include "kms_envelope/c/c_api_internal.h"
#include "kms_envelope/c/kms_envelope.h"

namespace {

using namespace kms_envelope::c_api;  // the shared reporting helpers (c_api_internal.h)
namespace branch = kms_envelope::branch;

// Create and rotate differ only in the admin call: open the store, run it, return the version.
template <typename AdminCall>
kmse_status RunAdmin(const char* store, uint32_t* version, kmse_error* err, AdminCall&& call) {
  auto opened = branch::OpenBranchKeyStore(store);
  if (!opened.ok()) return Report(err, opened.status());
  absl::StatusOr<branch::BranchKeyVersion> v = call(**opened);
  if (!v.ok()) return Report(err, v.status());
  if (version != nullptr) *version = v->version;
  return Ok(err);
}

}  // namespace

extern "C" {

kmse_status kmse_branch_key_create(kmse_provider* kms, const char* store, const char* cmk_key_id,
                                   const char* branch_key_id, uint32_t* version, kmse_error* err) {
  return Guard(err, [&] {
    if (kms == nullptr || store == nullptr || cmk_key_id == nullptr || branch_key_id == nullptr) {
      return InvalidArgument(err, "kms, store, cmk_key_id and branch_key_id are required");
    }
    return RunAdmin(store, version, err, [&](branch::BranchKeyStore& opened) {
      return branch::CreateBranchKey(*kms->provider, cmk_key_id, opened, branch_key_id);
    });
  });
}

kmse_status kmse_branch_key_rotate(kmse_provider* kms, const char* store, const char* cmk_key_id,
                                   const char* branch_key_id, uint32_t* version, kmse_error* err) {
  return Guard(err, [&] {
    if (kms == nullptr || store == nullptr || branch_key_id == nullptr) {
      return InvalidArgument(err, "kms, store and branch_key_id are required");
    }
    return RunAdmin(store, version, err, [&](branch::BranchKeyStore& opened) {
      return branch::RotateBranchKey(*kms->provider, cmk_key_id != nullptr ? cmk_key_id : "",
                                     opened, branch_key_id);
    });
  });
}

kmse_status kmse_branch_key_list(const char* store, const char* branch_key_id, uint32_t* versions,
                                 size_t cap, size_t* count, uint32_t* active, kmse_error* err) {
  return Guard(err, [&] {
    if (store == nullptr || branch_key_id == nullptr) {
      return InvalidArgument(err, "store and branch_key_id are required");
    }
    auto opened = branch::OpenBranchKeyStore(store);
    if (!opened.ok()) return Report(err, opened.status());
    auto list = (*opened)->ListVersions(branch_key_id);
    if (!list.ok()) return Report(err, list.status());
    if (count != nullptr) *count = list->size();
    if (versions == nullptr || cap < list->size()) {
      return TooSmall(err, list->size(), count, "versions");
    }
    for (size_t i = 0; i < list->size(); ++i) {
      versions[i] = (*list)[i].version;
      if ((*list)[i].active && active != nullptr) *active = (*list)[i].version;
    }
    return Ok(err);
  });
}

}  // extern "C"
