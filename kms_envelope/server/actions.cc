#include "kms_envelope/server/actions.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/internal/iso_time.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/key_provider.h"
#include "kms_envelope/kms_api/key_metadata_json.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace server {
namespace {

using internal::Av;
using kms_api::WipedString;

// Base64 of a plaintext key, built straight into a buffer that is wiped when freed.
WipedString Base64Wiped(const SecretBytes& plaintext) {
  WipedString b64;
  b64.resize(internal::Base64EncodedSize(plaintext.size()));
  internal::Base64EncodeTo(plaintext.span(),
                           absl::MakeSpan(reinterpret_cast<uint8_t*>(b64.data()), b64.size()));
  return b64;
}

absl::StatusOr<WipedJson> KeyMetadataResponse(const absl::StatusOr<local::KeyMetadata>& m) {
  if (!m.ok()) return m.status();
  WipedJson out = WipedJson::object();
  out["KeyMetadata"] = kms_api::KeyMetadataJson<WipedJson>(*m);
  return out;
}

absl::StatusOr<std::string> DecodeBlob(const Params& p) {
  KMS_ASSIGN_OR_RETURN(std::string_view b64, p.Required("CiphertextBlob"));
  absl::StatusOr<std::string> blob = internal::Base64Decode(b64, kMaxCiphertextBlobSize);
  if (!blob.ok()) return KmsError(kms_code::kInvalidCiphertext, "CiphertextBlob is not valid base64");
  return blob;
}

// ---- key checks (before the nonce is recorded and before anything is decrypted) ----

absl::Status NoKeys(const ActionEnv&, const Params&, KeyPolicy&) { return absl::OkStatus(); }

absl::Status KeyIdParam(const ActionEnv&, const Params& p, KeyPolicy& policy) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_id, p.Required("KeyId"));
  return policy.CheckKey(key_id);
}

absl::Status BlobKey(const ActionEnv&, const Params& p, KeyPolicy& policy) {
  KMS_ASSIGN_OR_RETURN(std::string blob, DecodeBlob(p));
  return policy.CheckBlob(internal::Bytes(blob));
}

absl::Status ReEncryptKeys(const ActionEnv& env, const Params& p, KeyPolicy& policy) {
  KMS_ASSIGN_OR_RETURN(std::string_view dest, p.Required("DestinationKeyId"));
  KMS_RETURN_IF_ERROR(policy.CheckKey(dest));
  return BlobKey(env, p, policy);
}

// ---- data-key actions ----

absl::StatusOr<WipedJson> DataKey(const ActionEnv& env, const Params& p, bool with_plaintext) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_id, p.Required("KeyId"));
  KMS_ASSIGN_OR_RETURN(std::optional<int64_t> n, p.Int("NumberOfBytes", 0, 1 << 20));
  KMS_ASSIGN_OR_RETURN(EncryptionContext ctx, p.Context("EncryptionContext"));
  GenerateDataKeyRequest req;
  req.key_id = key_id;
  req.key_spec = p.Get("KeySpec");
  req.number_of_bytes = n;
  req.encryption_context = &ctx;
  WipedJson out = WipedJson::object();
  if (!with_plaintext) {
    KMS_ASSIGN_OR_RETURN(GenerateDataKeyWithoutPlaintextResponse r,
                         env.provider.GenerateDataKeyWithoutPlaintext(req));
    out["KeyId"] = r.key_id;
    out["KeyVersionId"] = r.key_version_id;
    out["CiphertextBlob"] = internal::Base64Encode(r.ciphertext_blob);
    return out;
  }
  GenerateDataKeyResponse r;
  KMS_RETURN_IF_ERROR(env.provider.GenerateDataKeyInto(req, &r));
  out["KeyId"] = r.key_id;
  out["KeyVersionId"] = r.key_version_id;
  out["CiphertextBlob"] = internal::Base64Encode(r.ciphertext_blob);
  out["Plaintext"] = Base64Wiped(r.plaintext);
  return out;
}

absl::StatusOr<WipedJson> GenerateDataKey(const ActionEnv& env, const Params& p, KeyPolicy&) {
  return DataKey(env, p, /*with_plaintext=*/true);
}

absl::StatusOr<WipedJson> GenerateDataKeyWithoutPlaintext(const ActionEnv& env, const Params& p,
                                                          KeyPolicy&) {
  return DataKey(env, p, /*with_plaintext=*/false);
}

absl::StatusOr<WipedJson> Decrypt(const ActionEnv& env, const Params& p, KeyPolicy& policy) {
  KMS_ASSIGN_OR_RETURN(std::string blob, DecodeBlob(p));
  KMS_ASSIGN_OR_RETURN(EncryptionContext ctx, p.Context("EncryptionContext"));
  DecryptRequest req;
  req.ciphertext_blob = internal::Bytes(blob);
  req.encryption_context = &ctx;
  DecryptResponse r;
  KMS_RETURN_IF_ERROR(env.provider.DecryptInto(req, &r));
  // Already checked on the blob's version; kept so a store bug cannot release another key's
  // plaintext (r.plaintext is wiped when r goes away).
  KMS_RETURN_IF_ERROR(policy.CheckKey(r.key_id));
  WipedJson out = WipedJson::object();
  out["KeyId"] = r.key_id;
  out["KeyVersionId"] = r.key_version_id;
  out["Plaintext"] = Base64Wiped(r.plaintext);
  return out;
}

absl::StatusOr<WipedJson> Encrypt(const ActionEnv& env, const Params& p, KeyPolicy&) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_id, p.Required("KeyId"));
  KMS_ASSIGN_OR_RETURN(std::string_view plain_b64, p.Required("Plaintext"));
  if (plain_b64.size() > internal::Base64EncodedSize(kMaxEncryptPlaintextSize)) {
    return KmsError(kms_code::kInvalidParameter, "Plaintext is longer than 6 KiB");
  }
  absl::StatusOr<SecretBytes> plain =
      internal::Base64DecodeSecret(internal::Bytes(plain_b64), kMaxEncryptPlaintextSize);
  if (!plain.ok()) {
    return KmsError(kms_code::kInvalidParameter, "Plaintext must be base64 of at most 6 KiB");
  }
  KMS_ASSIGN_OR_RETURN(EncryptionContext ctx, p.Context("EncryptionContext"));
  EncryptRequest req;
  req.key_id = key_id;
  req.plaintext = plain->span();
  req.encryption_context = &ctx;
  KMS_ASSIGN_OR_RETURN(EncryptResponse r, env.provider.Encrypt(req));
  WipedJson out = WipedJson::object();
  out["KeyId"] = r.key_id;
  out["KeyVersionId"] = r.key_version_id;
  out["CiphertextBlob"] = internal::Base64Encode(r.ciphertext_blob);
  return out;
}

absl::StatusOr<WipedJson> ReEncrypt(const ActionEnv& env, const Params& p, KeyPolicy& policy) {
  KMS_ASSIGN_OR_RETURN(std::string blob, DecodeBlob(p));
  KMS_ASSIGN_OR_RETURN(std::string_view dest, p.Required("DestinationKeyId"));
  KMS_ASSIGN_OR_RETURN(EncryptionContext src_ctx, p.Context("SourceEncryptionContext"));
  KMS_ASSIGN_OR_RETURN(EncryptionContext dst_ctx, p.Context("DestinationEncryptionContext"));
  ReEncryptRequest req;
  req.ciphertext_blob = internal::Bytes(blob);
  req.source_encryption_context = &src_ctx;
  req.destination_key_id = dest;
  req.destination_encryption_context = &dst_ctx;
  KMS_ASSIGN_OR_RETURN(ReEncryptResponse r, env.provider.ReEncrypt(req));
  KMS_RETURN_IF_ERROR(policy.CheckKey(r.source_key_id));  // as in Decrypt
  WipedJson out = WipedJson::object();
  out["KeyId"] = r.key_id;
  out["KeyVersionId"] = r.key_version_id;
  out["SourceKeyId"] = r.source_key_id;
  out["SourceKeyVersionId"] = r.source_key_version_id;
  out["CiphertextBlob"] = internal::Base64Encode(r.ciphertext_blob);
  return out;
}

// ---- key management ----

// CreateKey's optional KeySpec, KeyUsage, Origin and ProtectionLevel are understood: the value
// the store creates is accepted, any other refused (never silently replaced).
absl::Status CheckFixedKeyAttributes(const Params& p) {
  const local::KeyMetadata defaults;
  const std::pair<std::string_view, const std::string*> fixed[] = {
      {"KeySpec", &defaults.key_spec},
      {"KeyUsage", &defaults.key_usage},
      {"Origin", &defaults.origin},
      {"ProtectionLevel", &defaults.protection_level}};
  for (const auto& [name, value] : fixed) {
    const WipedString* given = p.Find(name);
    if (given != nullptr && std::string_view(*given) != *value) {
      return KmsError(kms_code::kInvalidParameter,
                      absl::StrCat("only ", Av(name), "=", *value, " is supported"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<WipedJson> CreateKey(const ActionEnv& env, const Params& p, KeyPolicy&) {
  KMS_RETURN_IF_ERROR(CheckFixedKeyAttributes(p));
  return KeyMetadataResponse(env.store.CreateKey(p.Get("Description")));
}

struct Page {
  int64_t number = 1;
  int64_t size = kDefaultPageSize;
  bool Holds(size_t index) const {
    return index >= static_cast<size_t>((number - 1) * size) &&
           index < static_cast<size_t>(number * size);
  }
};

absl::StatusOr<Page> PageOf(const Params& p) {
  KMS_ASSIGN_OR_RETURN(std::optional<int64_t> number, p.Int("PageNumber", 1, 1 << 30));
  KMS_ASSIGN_OR_RETURN(std::optional<int64_t> size, p.Int("PageSize", 1, kMaxPageSize));
  return Page{number.value_or(1), size.value_or(kDefaultPageSize)};
}

// One page of the entries whose CMK the caller's policy allows (both listings show only those),
// as {list: {entry: [...]}, TotalCount, PageNumber, PageSize}.
template <typename T, typename ToJson>
absl::StatusOr<WipedJson> AllowedPage(const Params& p, const std::vector<T>& all,
                                      KeyPolicy& policy, const char* list, const char* entry,
                                      ToJson to_json) {
  KMS_ASSIGN_OR_RETURN(Page page, PageOf(p));
  WipedJson items = WipedJson::array();
  size_t visible = 0;
  for (const T& e : all) {
    if (!policy.AllowsKeyId(e.key_id)) continue;
    if (page.Holds(visible++)) items.push_back(to_json(e));
  }
  WipedJson out = WipedJson::object();
  out[list] = {{entry, std::move(items)}};
  out["TotalCount"] = visible;
  out["PageNumber"] = page.number;
  out["PageSize"] = page.size;
  return out;
}

absl::StatusOr<WipedJson> ListKeys(const ActionEnv& env, const Params& p, KeyPolicy& policy) {
  KMS_ASSIGN_OR_RETURN(std::vector<local::KeyMetadata> keys, env.store.ListKeys());
  return AllowedPage(p, keys, policy, "Keys", "Key", [](const local::KeyMetadata& k) {
    return WipedJson{{"KeyId", k.key_id}, {"KeyArn", k.arn}};
  });
}

absl::StatusOr<WipedJson> ListAliases(const ActionEnv& env, const Params& p, KeyPolicy& policy) {
  KMS_ASSIGN_OR_RETURN(std::vector<local::AliasMetadata> aliases, env.store.ListAliases());
  return AllowedPage(p, aliases, policy, "Aliases", "Alias", [](const local::AliasMetadata& a) {
    return WipedJson{{"AliasName", a.alias_name}, {"AliasArn", a.alias_arn}, {"KeyId", a.key_id}};
  });
}

absl::StatusOr<WipedJson> CreateAlias(const ActionEnv& env, const Params& p, KeyPolicy&) {
  KMS_ASSIGN_OR_RETURN(std::string_view alias, p.Required("AliasName"));
  KMS_ASSIGN_OR_RETURN(std::string_view key_id, p.Required("KeyId"));
  KMS_RETURN_IF_ERROR(env.store.CreateAlias(alias, key_id));
  return WipedJson::object();
}

absl::StatusOr<WipedJson> DescribeKey(const ActionEnv& env, const Params& p, KeyPolicy&) {
  return KeyMetadataResponse(env.store.DescribeKey(p.Get("KeyId")));
}

absl::StatusOr<WipedJson> EnableKey(const ActionEnv& env, const Params& p, KeyPolicy&) {
  KMS_RETURN_IF_ERROR(env.store.EnableKey(p.Get("KeyId")).status());
  return WipedJson::object();
}

absl::StatusOr<WipedJson> DisableKey(const ActionEnv& env, const Params& p, KeyPolicy&) {
  KMS_RETURN_IF_ERROR(env.store.DisableKey(p.Get("KeyId")).status());
  return WipedJson::object();
}

absl::StatusOr<WipedJson> ScheduleKeyDeletion(const ActionEnv& env, const Params& p, KeyPolicy&) {
  KMS_ASSIGN_OR_RETURN(std::optional<int64_t> days, p.Int("PendingWindowInDays", 0, 365));
  if (!days.has_value()) return KmsError(kms_code::kMissingParameter, "missing PendingWindowInDays");
  KMS_RETURN_IF_ERROR(
      env.store.ScheduleKeyDeletion(p.Get("KeyId"), static_cast<int>(*days)).status());
  return WipedJson::object();
}

absl::StatusOr<WipedJson> CancelKeyDeletion(const ActionEnv& env, const Params& p, KeyPolicy&) {
  KMS_RETURN_IF_ERROR(env.store.CancelKeyDeletion(p.Get("KeyId")).status());
  return WipedJson::object();
}

absl::StatusOr<WipedJson> CreateKeyVersion(const ActionEnv& env, const Params& p, KeyPolicy&) {
  std::string_view key_id = p.Get("KeyId");
  KMS_ASSIGN_OR_RETURN(std::string version, env.store.RotateKey(key_id));
  KMS_ASSIGN_OR_RETURN(std::string guid, env.store.ResolveKeyId(key_id));
  WipedJson out = WipedJson::object();
  out["KeyVersion"] = {{"KeyId", guid}, {"KeyVersionId", version},
                       {"CreationDate", internal::FormatIsoTime(env.now)}};
  return out;
}

const std::vector<ActionSpec>& Table() {
  static const auto* table = new std::vector<ActionSpec>{
      {"GenerateDataKey", {"KeyId", "KeySpec", "NumberOfBytes"}, {"EncryptionContext"},
       KeyIdParam, GenerateDataKey},
      {"GenerateDataKeyWithoutPlaintext", {"KeyId", "KeySpec", "NumberOfBytes"},
       {"EncryptionContext"}, KeyIdParam, GenerateDataKeyWithoutPlaintext},
      {"Decrypt", {"CiphertextBlob"}, {"EncryptionContext"}, BlobKey, Decrypt},
      {"Encrypt", {"KeyId", "Plaintext"}, {"EncryptionContext"}, KeyIdParam, Encrypt},
      {"ReEncrypt", {"CiphertextBlob", "DestinationKeyId"},
       {"SourceEncryptionContext", "DestinationEncryptionContext"}, ReEncryptKeys, ReEncrypt},
      {"CreateKey", {"Description", "KeySpec", "KeyUsage", "Origin", "ProtectionLevel"}, {},
       NoKeys, CreateKey},
      {"ListKeys", {"PageNumber", "PageSize"}, {}, NoKeys, ListKeys},
      {"ListAliases", {"PageNumber", "PageSize"}, {}, NoKeys, ListAliases},
      {"CreateAlias", {"AliasName", "KeyId"}, {}, KeyIdParam, CreateAlias},
      {"DescribeKey", {"KeyId"}, {}, KeyIdParam, DescribeKey},
      {"EnableKey", {"KeyId"}, {}, KeyIdParam, EnableKey},
      {"DisableKey", {"KeyId"}, {}, KeyIdParam, DisableKey},
      {"ScheduleKeyDeletion", {"KeyId", "PendingWindowInDays"}, {}, KeyIdParam,
       ScheduleKeyDeletion},
      {"CancelKeyDeletion", {"KeyId"}, {}, KeyIdParam, CancelKeyDeletion},
      {"CreateKeyVersion", {"KeyId"}, {}, KeyIdParam, CreateKeyVersion},
  };
  return *table;
}

}  // namespace

const ActionSpec* FindAction(std::string_view name) {
  for (const ActionSpec& spec : Table()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

}  // namespace server
}  // namespace kms_envelope
