#include "kms_envelope/rocksdb/file_key_manager.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/internal/random.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace rocksdb_encryption {
namespace {

using internal::Av;

// Keeps the KMS code (if any) of `status` while prefixing its message with context.
absl::Status Annotate(const absl::Status& status, std::string_view prefix) {
  const std::string code = GetKmsErrorCode(status);
  const std::string message = absl::StrCat(Av(prefix), status.message());
  if (!code.empty()) {
    absl::Status out(status.code(), message);
    status.ForEachPayload([&out](absl::string_view url, const absl::Cord& payload) {
      out.SetPayload(url, payload);
    });
    return out;
  }
  return absl::Status(status.code(), message);
}

const EncryptionContext& DefaultContext() {
  static const EncryptionContext* context = [] {
    auto ctx = EncryptionContext::FromPairs(
        {{std::string(kDefaultFileContextKey), std::string(kDefaultFileContextValue)}});
    return new EncryptionContext(std::move(ctx).value());
  }();
  return *context;
}

}  // namespace

FileKeyManager::FileKeyManager(std::shared_ptr<KeyProvider> provider,
                               FileKeyManagerOptions options)
    : provider_(std::move(provider)), options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<FileKeyManager>> FileKeyManager::New(
    std::shared_ptr<KeyProvider> provider, FileKeyManagerOptions options) {
  if (provider == nullptr) {
    return KmsError(kms_code::kMissingParameter, "FileKeyManager needs a KeyProvider");
  }
  if (options.key_id.empty()) {
    return KmsError(kms_code::kMissingParameter, "FileKeyManager needs the CMK key_id for new files");
  }
  if (provider->provider_id().empty() ||
      provider->provider_id().size() > kMaxFileHeaderProviderIdSize) {
    return KmsError(kms_code::kInvalidParameter, "provider id must be 1..64 bytes");
  }
  if (options.cipher != FileCipherId::kAes256Ctr && options.cipher != FileCipherId::kXChaCha20) {
    return KmsError(kms_code::kInvalidParameter, "unknown file cipher");
  }
  if (options.unwrap_cache_capacity > kMaxUnwrapCacheCapacity) {
    return KmsError(kms_code::kInvalidParameter, "unwrap_cache_capacity is too large");
  }
  if (options.encryption_context.empty()) options.encryption_context = DefaultContext();
  return std::unique_ptr<FileKeyManager>(new FileKeyManager(std::move(provider), std::move(options)));
}

bool FileKeyManager::KeyAllowed(std::string_view key_id) const {
  if (options_.allowed_key_ids.empty()) return true;
  return std::find(options_.allowed_key_ids.begin(), options_.allowed_key_ids.end(), key_id) !=
         options_.allowed_key_ids.end();
}

absl::StatusOr<std::string> FileKeyManager::NewFilePrefix() {
  GenerateDataKeyRequest request;
  request.key_id = options_.key_id;
  request.number_of_bytes = static_cast<int64_t>(kFileDataKeySize);
  request.encryption_context = &options_.encryption_context;
  GenerateDataKeyResponse response;
  data_keys_generated_.fetch_add(1, std::memory_order_relaxed);
  absl::Status status = provider_->GenerateDataKeyInto(request, &response);
  if (!status.ok()) {
    return Annotate(status, "kms_envelope RocksDB: GenerateDataKey for a new file failed: ");
  }
  if (response.plaintext.size() != kFileDataKeySize) {
    return KmsError(kms_code::kInternalFailure, "provider returned a data key of the wrong size");
  }
  FileHeader header;
  header.cipher = options_.cipher;
  header.generation = 1;
  internal::FillRandom(absl::MakeSpan(header.file_salt));
  header.provider_id = std::string(provider_->provider_id());
  header.key_id = response.key_id;
  header.key_version_id = response.key_version_id;
  header.ciphertext_blob = response.ciphertext_blob;
  KMS_ASSIGN_OR_RETURN(FileKeys keys,
                       DeriveFileKeys(header.cipher, response.plaintext, header.file_salt));
  KMS_ASSIGN_OR_RETURN(std::string slot, SerializeFileHeaderSlot(header, keys.header_mac_key));
  CachePut(header.ciphertext_blob, response.plaintext, header.key_id, header.key_version_id);
  std::string prefix;
  prefix.reserve(kFilePrefixSize);
  for (size_t i = 0; i < kFileHeaderSlotCount; ++i) prefix += slot;
  return prefix;
}

void FileKeyManager::CachePut(const std::string& blob, const SecretBytes& data_key,
                              const std::string& key_id, const std::string& key_version_id) {
  if (options_.unwrap_cache_capacity == 0) return;
  absl::StatusOr<SecretBytes> copy = SecretBytes::CopyFrom(data_key.span());
  if (!copy.ok()) return;  // out of locked memory: simply do not cache
  std::lock_guard<std::mutex> lock(cache_mu_);
  auto it = cache_.find(blob);
  if (it != cache_.end()) {
    lru_.erase(it->second.lru);
    cache_.erase(it);
  }
  while (cache_.size() >= options_.unwrap_cache_capacity && !lru_.empty()) {
    cache_.erase(lru_.back());
    lru_.pop_back();
  }
  lru_.push_front(blob);
  CacheEntry entry{std::move(copy).value(), key_id, key_version_id,
                   absl::Now() + options_.unwrap_cache_ttl, lru_.begin()};
  cache_.emplace(blob, std::move(entry));
}

absl::Status FileKeyManager::DecryptBlob(std::string_view blob, DecryptResponse* response) {
  DecryptRequest request;
  request.ciphertext_blob = internal::Bytes(blob);
  request.encryption_context = &options_.encryption_context;
  provider_decrypts_.fetch_add(1, std::memory_order_relaxed);
  return provider_->DecryptInto(request, response);
}

absl::StatusOr<SecretBytes> FileKeyManager::Unwrap(const std::string& blob, std::string* key_id) {
  if (options_.unwrap_cache_capacity != 0) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = cache_.find(blob);
    if (it != cache_.end()) {
      if (absl::Now() < it->second.expires) {
        lru_.splice(lru_.begin(), lru_, it->second.lru);
        *key_id = it->second.key_id;
        cache_hits_.fetch_add(1, std::memory_order_relaxed);
        return SecretBytes::CopyFrom(it->second.data_key.span());
      }
      lru_.erase(it->second.lru);
      cache_.erase(it);
    }
  }
  DecryptResponse response;
  absl::Status status = DecryptBlob(blob, &response);
  if (!status.ok()) {
    return Annotate(status, "the key provider could not unwrap the file's data key: ");
  }
  CachePut(blob, response.plaintext, response.key_id, response.key_version_id);
  *key_id = response.key_id;
  return std::move(response.plaintext);
}

absl::Status FileKeyManager::VerifySlot(const ParsedFileHeader& parsed, Verified* out) {
  const FileHeader& h = parsed.header;
  if (h.provider_id != provider_->provider_id()) {
    return KmsError(kms_code::kInvalidCiphertext,
                    absl::StrCat("the file's key was wrapped by provider \"", h.provider_id,
                                 "\", not by this provider (\"", Av(provider_->provider_id()),
                                 "\")"));
  }
  if (!KeyAllowed(h.key_id)) {
    return KmsError(kms_code::kNoPermission,
                    absl::StrCat("the file's header names CMK ", h.key_id,
                                 ", which is not in allowed_key_ids"));
  }
  std::string unwrapped_by;
  KMS_ASSIGN_OR_RETURN(SecretBytes data_key, Unwrap(h.ciphertext_blob, &unwrapped_by));
  if (unwrapped_by != h.key_id) {
    return KmsError(kms_code::kInvalidCiphertext,
                    "the file's header names another CMK than the one that wrapped its key");
  }
  KMS_ASSIGN_OR_RETURN(FileKeys keys, DeriveFileKeys(h.cipher, data_key, h.file_salt));
  KMS_RETURN_IF_ERROR(VerifyFileHeaderSlot(parsed, keys.header_mac_key));
  out->header = h;
  out->data_key = std::move(data_key);
  out->keys = std::move(keys);
  return absl::OkStatus();
}

absl::StatusOr<FileKeyManager::Verified> FileKeyManager::VerifyPrefix(
    absl::Span<const uint8_t> prefix) {
  if (prefix.size() < kFilePrefixSize) {
    return KmsError(kms_code::kInvalidCiphertext,
                    absl::StrCat("kms_envelope RocksDB: the file is shorter (", prefix.size(),
                                 " bytes) than the encryption header (", kFilePrefixSize,
                                 " bytes): it was not written through the encrypted Env"));
  }
  struct Candidate {
    size_t slot;
    ParsedFileHeader parsed;
  };
  std::vector<Candidate> candidates;
  absl::Status first_error;
  for (size_t i = 0; i < kFileHeaderSlotCount; ++i) {
    auto slot = prefix.subspan(i * kFileHeaderSlotSize, kFileHeaderSlotSize);
    absl::StatusOr<ParsedFileHeader> parsed = ParseFileHeaderSlot(slot);
    if (parsed.ok()) {
      candidates.push_back({i, std::move(parsed).value()});
    } else if (first_error.ok()) {
      first_error = parsed.status();
    }
  }
  if (candidates.empty()) {
    return Annotate(first_error, "kms_envelope RocksDB: no readable header slot: ");
  }
  std::stable_sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    return a.parsed.header.generation > b.parsed.header.generation;
  });
  absl::Status verify_error;
  for (size_t i = 0; i < candidates.size(); ++i) {
    Verified verified;
    absl::Status status = VerifySlot(candidates[i].parsed, &verified);
    if (status.ok()) {
      verified.slot = candidates[i].slot;
      if (candidates.size() < kFileHeaderSlotCount || i > 0) {
        verified.degraded = true;  // the other slot did not parse, or did not verify
      } else if (std::memcmp(prefix.data(), prefix.data() + kFileHeaderSlotSize,
                             kFileHeaderSlotSize) != 0) {
        // Different slots (a rewrap between its two writes): the older one must verify too.
        Verified other;
        verified.degraded = !VerifySlot(candidates[1].parsed, &other).ok();
      }
      return verified;
    }
    if (verify_error.ok()) verify_error = status;
  }
  return Annotate(verify_error, "kms_envelope RocksDB: cannot open the file's data key: ");
}

absl::StatusOr<OpenedFile> FileKeyManager::OpenFilePrefix(absl::Span<const uint8_t> prefix) {
  KMS_ASSIGN_OR_RETURN(Verified verified, VerifyPrefix(prefix));
  OpenedFile file;
  KMS_ASSIGN_OR_RETURN(file.cipher,
                       FileStreamCipher::New(verified.header.cipher,
                                             std::move(verified.keys.stream_key),
                                             verified.header.file_salt));
  file.header = std::move(verified.header);
  file.slot = verified.slot;
  file.degraded = verified.degraded;
  files_opened_.fetch_add(1, std::memory_order_relaxed);
  if (file.degraded) degraded_opens_.fetch_add(1, std::memory_order_relaxed);
  return file;
}

absl::StatusOr<RewrapPlan> FileKeyManager::PlanRewrap(absl::Span<const uint8_t> prefix,
                                                      std::string_view destination_key_id) {
  KMS_ASSIGN_OR_RETURN(Verified verified, VerifyPrefix(prefix));
  const std::string destination =
      destination_key_id.empty() ? verified.header.key_id : std::string(destination_key_id);
  RewrapPlan plan;
  plan.old_header = verified.header;

  std::string new_blob, new_key_id, new_version;
  ReEncryptRequest re;
  re.ciphertext_blob = internal::Bytes(verified.header.ciphertext_blob);
  re.source_encryption_context = &options_.encryption_context;
  re.destination_key_id = destination;
  re.destination_encryption_context = &options_.encryption_context;
  absl::StatusOr<ReEncryptResponse> reencrypted = provider_->ReEncrypt(re);
  if (reencrypted.ok()) {
    new_blob = std::move(reencrypted->ciphertext_blob);
    new_key_id = std::move(reencrypted->key_id);
    new_version = std::move(reencrypted->key_version_id);
  } else if (reencrypted.status().code() == absl::StatusCode::kUnimplemented ||
             GetKmsErrorCode(reencrypted.status()) == kms_code::kUnsupportedOperation) {
    EncryptRequest enc;
    enc.key_id = destination;
    enc.plaintext = verified.data_key.span();
    enc.encryption_context = &options_.encryption_context;
    absl::StatusOr<EncryptResponse> encrypted = provider_->Encrypt(enc);
    if (!encrypted.ok()) return Annotate(encrypted.status(), "kms_envelope RocksDB rewrap: ");
    new_blob = std::move(encrypted->ciphertext_blob);
    new_key_id = std::move(encrypted->key_id);
    new_version = std::move(encrypted->key_version_id);
  } else {
    return Annotate(reencrypted.status(), "kms_envelope RocksDB rewrap: ");
  }

  // Nothing to do when both slots are identical, valid, and already under that version.
  const bool slots_identical =
      std::memcmp(prefix.data(), prefix.data() + kFileHeaderSlotSize, kFileHeaderSlotSize) == 0;
  if (slots_identical && !verified.degraded && new_key_id == verified.header.key_id &&
      new_version == verified.header.key_version_id) {
    plan.up_to_date = true;
    plan.new_header = verified.header;
    return plan;
  }

  // Never write a header that cannot be opened: the new blob must unwrap to the same key.
  DecryptResponse checked;
  absl::Status status = DecryptBlob(new_blob, &checked);
  if (!status.ok()) return Annotate(status, "kms_envelope RocksDB rewrap: new blob does not open: ");
  if (!checked.plaintext.ConstantTimeEquals(verified.data_key)) {
    return KmsError(kms_code::kInternalFailure,
                    "kms_envelope RocksDB rewrap: the re-wrapped key differs from the file's key");
  }

  FileHeader header = verified.header;
  header.generation = verified.header.generation + 1;
  header.key_id = std::move(new_key_id);
  header.key_version_id = std::move(new_version);
  header.ciphertext_blob = std::move(new_blob);
  KMS_ASSIGN_OR_RETURN(plan.new_slot, SerializeFileHeaderSlot(header, verified.keys.header_mac_key));
  CachePut(header.ciphertext_blob, verified.data_key, header.key_id, header.key_version_id);
  // Overwrite the slot we did not open from first, so the verified one survives a torn write.
  plan.first_slot = (verified.slot + 1) % kFileHeaderSlotCount;
  plan.new_header = std::move(header);
  return plan;
}

FileKeyManagerStats FileKeyManager::stats() const {
  FileKeyManagerStats s;
  s.data_keys_generated = data_keys_generated_.load(std::memory_order_relaxed);
  s.provider_decrypts = provider_decrypts_.load(std::memory_order_relaxed);
  s.cache_hits = cache_hits_.load(std::memory_order_relaxed);
  s.files_opened = files_opened_.load(std::memory_order_relaxed);
  s.degraded_opens = degraded_opens_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace rocksdb_encryption
}  // namespace kms_envelope
