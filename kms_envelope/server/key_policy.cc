#include "kms_envelope/server/key_policy.h"

#include <algorithm>
#include <vector>

#include "kms_envelope/status_macros.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/local/ciphertext_blob.h"

namespace kms_envelope {
namespace server {
namespace {

absl::Status NotAllowed() {
  return KmsError(kms_code::kNoPermission, "this AccessKey may not use that CMK");
}

}  // namespace

const std::set<std::string>& KeyPolicy::AllowedGuids() {
  if (!allowed_.has_value()) {
    allowed_.emplace();
    for (const std::string& entry : key_.keys) {
      absl::StatusOr<std::string> guid = store_.ResolveKeyId(entry);
      if (guid.ok()) allowed_->insert(*std::move(guid));
    }
  }
  return *allowed_;
}

absl::Status KeyPolicy::CheckKey(std::string_view requested) {
  if (key_.AllowsAllKeys()) return absl::OkStatus();
  for (const std::string& entry : key_.keys) {
    if (entry == requested) return absl::OkStatus();
  }
  absl::StatusOr<std::string> guid = store_.ResolveKeyId(requested);
  if (guid.ok() && AllowedGuids().count(*guid) > 0) return absl::OkStatus();
  return NotAllowed();
}

absl::Status KeyPolicy::CheckBlob(absl::Span<const uint8_t> blob) {
  if (key_.AllowsAllKeys()) return absl::OkStatus();
  KMS_ASSIGN_OR_RETURN(local::ParsedCiphertextBlob parsed, local::ParseCiphertextBlob(blob));
  for (const std::string& guid : AllowedGuids()) {
    absl::StatusOr<local::KeyMetadata> m = store_.DescribeKey(guid);
    if (!m.ok()) continue;
    const std::vector<std::string>& versions = m->key_version_ids;
    if (std::find(versions.begin(), versions.end(), parsed.key_version_id) != versions.end()) {
      return absl::OkStatus();
    }
  }
  return NotAllowed();
}

bool KeyPolicy::AllowsKeyId(const std::string& guid) {
  return key_.AllowsAllKeys() || AllowedGuids().count(guid) > 0;
}

}  // namespace server
}  // namespace kms_envelope
