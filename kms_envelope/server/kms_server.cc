#include "kms_envelope/server/kms_server.h"

#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/internal/status_macros.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/key_provider.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/local/local_key_provider.h"
#include "kms_envelope/remote/signer.h"
#include "kms_envelope/remote/uuid.h"
#include "kms_envelope/remote/wiped_string.h"
#include "kms_envelope/server/elastic_thread_pool.h"
#include "kms_envelope/server/nonce_cache.h"

namespace kms_envelope {
namespace server {
namespace {

using internal::Av;
using remote::QueryParam;
using remote::WipedString;
using WipedJson = nlohmann::basic_json<std::map, std::vector, WipedString>;

constexpr std::string_view kApiVersion = "2016-01-20";

// Base64 of a plaintext key, built straight into a buffer that is wiped when freed.
WipedString Base64Wiped(const SecretBytes& plaintext) {
  WipedString b64;
  b64.resize(internal::Base64EncodedSize(plaintext.size()));
  internal::Base64EncodeTo(plaintext.span(),
                           absl::MakeSpan(reinterpret_cast<uint8_t*>(b64.data()), b64.size()));
  return b64;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string IsoTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

// One incoming request, as the handler sees it.
struct Incoming {
  std::string method;
  std::string target;  // raw path?query
  std::string body;
  std::map<std::string, std::string> headers;  // lowercased names
  std::string remote;
  // Set when the body could not be read (too large, or the client stopped sending): answered
  // with this HTTP status and an InvalidParameter error, without looking at the request.
  int body_error_status = 0;
};

struct Outgoing {
  int status = 200;
  std::shared_ptr<WipedString> body;
  std::string content_type;
};

// What the access log records.
struct LogFields {
  std::string action;
  std::string access_key_id;
  std::string auth;
  std::string code;
};

// Parses `a=b&c=d` into params (percent-decoded, '+' as space). Refuses duplicates and breaks of
// the limits.
absl::Status ParseParams(std::string_view text, std::vector<QueryParam>* out) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t amp = text.find('&', pos);
    if (amp == std::string_view::npos) amp = text.size();
    std::string_view pair = text.substr(pos, amp - pos);
    pos = amp + 1;
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string_view name = pair.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (out->size() >= kMaxRequestParams) {
      return KmsError(kms_code::kInvalidParameter, "too many parameters");
    }
    if (value.size() > 3 * kMaxParamValueSize || name.size() > 256) {
      return KmsError(kms_code::kInvalidParameter, "parameter too long");
    }
    absl::StatusOr<WipedString> n = remote::PercentDecode(name, true);
    absl::StatusOr<WipedString> v = remote::PercentDecode(value, true);
    if (!n.ok() || !v.ok()) return KmsError(kms_code::kInvalidParameter, "malformed encoding");
    if (v->size() > kMaxParamValueSize) {
      return KmsError(kms_code::kInvalidParameter, "parameter too long");
    }
    std::string key(n->data(), n->size());
    for (const auto& [k, _] : *out) {
      if (k == key) return KmsError(kms_code::kInvalidParameter, "duplicate parameter " + key);
    }
    out->emplace_back(std::move(key), std::move(*v));
  }
  return absl::OkStatus();
}

class Params {
 public:
  explicit Params(const std::vector<QueryParam>* all) : all_(all) {}
  const WipedString* Find(std::string_view name) const {
    for (const auto& [k, v] : *all_) {
      if (k == name) return &v;
    }
    return nullptr;
  }
  std::string_view Get(std::string_view name) const {
    const WipedString* v = Find(name);
    return v == nullptr ? std::string_view() : std::string_view(*v);
  }
  absl::StatusOr<std::string_view> Required(std::string_view name) const {
    const WipedString* v = Find(name);
    if (v == nullptr || v->empty()) {
      return KmsError(kms_code::kMissingParameter, absl::StrCat("missing ", Av(name)));
    }
    return std::string_view(*v);
  }
  absl::StatusOr<std::optional<int64_t>> Int(std::string_view name, int64_t lo, int64_t hi) const {
    const WipedString* v = Find(name);
    if (v == nullptr || v->empty()) return std::optional<int64_t>();
    int64_t value = 0;
    if (v->size() > 18) return KmsError(kms_code::kInvalidParameter, absl::StrCat(Av(name), " is not a number"));
    for (char c : *v) {
      if (c < '0' || c > '9') {
        return KmsError(kms_code::kInvalidParameter, absl::StrCat(Av(name), " is not a number"));
      }
      value = value * 10 + (c - '0');
    }
    if (value < lo || value > hi) {
      return KmsError(kms_code::kInvalidParameter, absl::StrCat(Av(name), " is out of range"));
    }
    return std::optional<int64_t>(value);
  }
  absl::StatusOr<EncryptionContext> Context(std::string_view name) const {
    return EncryptionContext::FromJson(Get(name));
  }

 private:
  const std::vector<QueryParam>* all_;
};

absl::StatusOr<absl::Time> ParseTimestamp(std::string_view s) {
  absl::Time t;
  std::string err;
  if (s.size() > 40) return KmsError(kms_code::kInvalidTimeStampFormat, "bad timestamp");
  if (absl::ParseTime("%Y-%m-%dT%H:%M:%SZ", Av(s), &t, &err) ||
      absl::ParseTime("%Y-%m-%dT%H:%M:%E*SZ", Av(s), &t, &err)) {
    return t;
  }
  return KmsError(kms_code::kInvalidTimeStampFormat,
                  "the Timestamp must be yyyy-MM-ddTHH:mm:ssZ in UTC");
}

void XmlEscape(std::string_view s, WipedString* out) {
  for (char c : s) {
    switch (c) {
      case '&': out->append("&amp;"); break;
      case '<': out->append("&lt;"); break;
      case '>': out->append("&gt;"); break;
      case '"': out->append("&quot;"); break;
      case '\'': out->append("&apos;"); break;
      default: out->push_back(c);
    }
  }
}

// JSON value -> XML elements the way the service renders them: an array under "Key" becomes
// repeated <Key> elements.
void ToXml(const std::string& name, const WipedJson& v, WipedString* out) {
  if (v.is_array()) {
    for (const WipedJson& e : v) ToXml(name, e, out);
    return;
  }
  out->append("<").append(name.data(), name.size()).append(">");
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      ToXml(std::string(std::string_view(it.key())), it.value(), out);
    }
  } else if (v.is_string()) {
    XmlEscape(std::string_view(v.get_ref<const WipedString&>()), out);
  } else {
    WipedString text = v.dump(-1, ' ', false, WipedJson::error_handler_t::replace);
    XmlEscape(std::string_view(text), out);
  }
  out->append("</").append(name.data(), name.size()).append(">");
}

WipedJson KeyMetadataJson(const local::KeyMetadata& m) {
  WipedJson j = WipedJson::object();
  j["KeyId"] = m.key_id;
  j["Description"] = m.description;
  j["KeyState"] = m.key_state;
  j["CreationDate"] = m.creation_date;
  if (!m.delete_date.empty()) j["DeleteDate"] = m.delete_date;
  j["PrimaryKeyVersion"] = m.primary_key_version;
  j["LastRotationDate"] = m.last_rotation_date;
  j["KeySpec"] = m.key_spec;
  j["KeyUsage"] = m.key_usage;
  j["Origin"] = m.origin;
  j["ProtectionLevel"] = m.protection_level;
  j["Arn"] = m.arn;
  j["Creator"] = "kms-envelope";
  j["AutomaticRotation"] = "Disabled";
  return j;
}

}  // namespace

struct KmsServer::Impl {
  KmsServerOptions options;
  std::unique_ptr<local::LocalKeyProvider> provider;
  std::unique_ptr<httplib::Server> http;
  std::thread thread;
  int port = 0;
  int listen_fd = -1;  // the listening socket (owned by http), from the socket-options hook
  std::atomic<bool> started{false};
  std::atomic<uint64_t> requests{0};
  NonceCache nonces;
  std::mutex faults_mu;
  std::mutex log_mu;

  explicit Impl(KmsServerOptions o)
      : options(std::move(o)), nonces(options.nonce_capacity, kNonceTtl) {}

  absl::Time Now() const { return options.now ? options.now() : absl::Now(); }

  Outgoing Handle(const Incoming& in);
  absl::Status Authenticate(const Incoming& in, std::string_view query,
                            const std::vector<QueryParam>& query_params,
                            const std::vector<QueryParam>& all_params, const Params& params,
                            const AccessKey** key, std::string* action, LogFields* log);
  // The access key `access_key_id` names, if the request `timestamp` is within
  // max_clock_skew of the server time.
  absl::StatusOr<const AccessKey*> FindFreshKey(const std::string& access_key_id,
                                                std::string_view timestamp);
  absl::Status CheckKey(const AccessKey& key, std::string_view requested);
  absl::StatusOr<WipedJson> Dispatch(std::string_view action, const Params& p,
                                     const AccessKey& key);
  void Log(const Incoming& in, const Outgoing& out, const LogFields& f, const std::string& request_id,
           absl::Duration latency);
};

absl::StatusOr<const AccessKey*> KmsServer::Impl::FindFreshKey(const std::string& access_key_id,
                                                               std::string_view timestamp) {
  const AccessKey* key = options.policy.Find(access_key_id);
  if (key == nullptr) {
    return KmsError(kms_code::kInvalidAccessKeyIdNotFound, "the AccessKeyId is not known");
  }
  KMS_ASSIGN_OR_RETURN(absl::Time t, ParseTimestamp(timestamp));
  if (absl::AbsDuration(Now() - t) > options.max_clock_skew) {
    return KmsError(kms_code::kInvalidTimeStampExpired,
                    "the request time is more than 15 minutes off the server time");
  }
  return key;
}

absl::Status KmsServer::Impl::Authenticate(const Incoming& in, std::string_view query,
                                           const std::vector<QueryParam>& query_params,
                                           const std::vector<QueryParam>& all_params,
                                           const Params& params, const AccessKey** key_out,
                                           std::string* action, LogFields* log) {
  auto header = [&](const char* name) -> std::string_view {
    auto it = in.headers.find(name);
    return it == in.headers.end() ? std::string_view() : std::string_view(it->second);
  };
  std::string_view authorization = header("authorization");
  const bool v3 = !authorization.empty();
  log->auth = v3 ? "V3" : "V1";
  std::string access_key_id, nonce;
  std::string_view timestamp;
  if (v3) {
    *action = std::string(header("x-acs-action"));
    if (action->empty()) *action = std::string(params.Get("Action"));
  } else {
    *action = std::string(params.Get("Action"));
  }
  log->action = action->substr(0, 64);
  if (action->empty()) return KmsError(kms_code::kMissingParameter, "missing Action");

  if (v3) {
    absl::StatusOr<remote::V3Authorization> auth = remote::ParseV3Authorization(authorization);
    if (!auth.ok()) return KmsError(kms_code::kIncompleteSignature, std::string(auth.status().message()));
    access_key_id = auth->access_key_id;
    log->access_key_id = access_key_id.substr(0, 128);
    nonce = std::string(header("x-acs-signature-nonce"));
    timestamp = header("x-acs-date");
    bool signs_host = false;
    for (const std::string& h : auth->signed_headers) signs_host |= (h == "host");
    if (nonce.empty() || timestamp.empty() || header("x-acs-version").empty() || !signs_host) {
      return KmsError(kms_code::kIncompleteSignature,
                      "V3 requests need x-acs-date, x-acs-signature-nonce, x-acs-version and a "
                      "signed host header");
    }
    if (header("x-acs-version") != kApiVersion) {
      return KmsError(kms_code::kInvalidParameter, "unsupported Version (use 2016-01-20)");
    }
    KMS_ASSIGN_OR_RETURN(const AccessKey* key, FindFreshKey(access_key_id, timestamp));
    remote::V3Request req;
    req.method = in.method;
    size_t q = in.target.find('?');
    req.canonical_uri = in.target.substr(0, q);
    if (req.canonical_uri.empty()) req.canonical_uri = "/";
    req.query = query_params;
    for (const std::string& h : auth->signed_headers) req.headers[h] = std::string(header(h.c_str()));
    req.hashed_payload = remote::HexSha256(in.body);
    std::string_view claimed = header("x-acs-content-sha256");
    if (!claimed.empty() && !remote::SignatureEquals(claimed, req.hashed_payload)) {
      return KmsError(kms_code::kSignatureDoesNotMatch, "x-acs-content-sha256 does not match the body");
    }
    // The signed-header set is the client's: recompute over exactly those headers.
    std::string signed_list;
    for (const std::string& h : auth->signed_headers) {
      if (!signed_list.empty()) signed_list.push_back(';');
      signed_list += h;
    }
    if (signed_list != remote::SignedHeadersV3(req.headers)) {
      return KmsError(kms_code::kIncompleteSignature,
                      "SignedHeaders must list host, content-type (if sent) and x-acs-* headers in order");
    }
    KMS_ASSIGN_OR_RETURN(std::string expected, remote::SignV3(req, key->access_key_secret));
    if (!remote::SignatureEquals(expected, auth->signature)) {
      return KmsError(kms_code::kSignatureDoesNotMatch, "the request signature does not match");
    }
    *key_out = key;
  } else {
    std::string_view signature = params.Get("Signature");
    access_key_id = std::string(params.Get("AccessKeyId"));
    log->access_key_id = access_key_id.substr(0, 128);
    nonce = std::string(params.Get("SignatureNonce"));
    timestamp = params.Get("Timestamp");
    if (signature.empty() || access_key_id.empty() || nonce.empty() || timestamp.empty() ||
        params.Get("SignatureMethod").empty()) {
      return KmsError(kms_code::kIncompleteSignature,
                      "Signature, AccessKeyId, SignatureMethod, SignatureNonce and Timestamp are "
                      "required");
    }
    if (params.Get("SignatureMethod") != remote::kSignatureMethodV1 ||
        (!params.Get("SignatureVersion").empty() &&
         params.Get("SignatureVersion") != remote::kSignatureVersionV1)) {
      return KmsError(kms_code::kIncompleteSignature, "only HMAC-SHA1 / 1.0 is supported for V1");
    }
    if (params.Get("Version") != kApiVersion) {
      return KmsError(kms_code::kInvalidParameter, "unsupported Version (use 2016-01-20)");
    }
    KMS_ASSIGN_OR_RETURN(const AccessKey* key, FindFreshKey(access_key_id, timestamp));
    std::vector<QueryParam> unsigned_params;
    unsigned_params.reserve(all_params.size());
    for (const auto& kv : all_params) {
      if (kv.first != "Signature") unsigned_params.push_back(kv);
    }
    KMS_ASSIGN_OR_RETURN(std::string expected,
                         remote::SignV1(in.method, unsigned_params, key->access_key_secret));
    if (!remote::SignatureEquals(expected, signature)) {
      return KmsError(kms_code::kSignatureDoesNotMatch, "the request signature does not match");
    }
    *key_out = key;
  }
  // Only a verified request may consume a nonce (else anyone could burn them).
  switch (nonces.Insert(absl::StrCat(Av(access_key_id), "\n", Av(nonce)), Now())) {
    case NonceCache::Result::kFresh:
      return absl::OkStatus();
    case NonceCache::Result::kReused:
      return KmsError(kms_code::kSignatureNonceUsed, "the SignatureNonce was already used");
    case NonceCache::Result::kFull:
      return KmsError(kms_code::kThrottling, "too many requests in the replay window");
  }
  return absl::OkStatus();
}

absl::Status KmsServer::Impl::CheckKey(const AccessKey& key, std::string_view requested) {
  if (key.AllowsAllKeys()) return absl::OkStatus();
  absl::StatusOr<std::string> guid = options.store->ResolveKeyId(requested);
  for (const std::string& entry : key.keys) {
    if (entry == requested) return absl::OkStatus();
    if (!guid.ok()) continue;
    if (entry == *guid) return absl::OkStatus();
    if (entry.compare(0, 6, "alias/") == 0) {
      absl::StatusOr<std::string> target = options.store->ResolveKeyId(entry);
      if (target.ok() && *target == *guid) return absl::OkStatus();
    }
  }
  return KmsError(kms_code::kNoPermission, "this AccessKey may not use that CMK");
}

absl::StatusOr<WipedJson> KmsServer::Impl::Dispatch(std::string_view action, const Params& p,
                                                    const AccessKey& key) {
  static const std::set<std::string_view> kActions = {
      "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "Decrypt", "Encrypt", "ReEncrypt",
      "CreateKey", "DescribeKey", "ListKeys", "CreateAlias", "ListAliases", "EnableKey",
      "DisableKey", "ScheduleKeyDeletion", "CancelKeyDeletion", "CreateKeyVersion"};
  if (kActions.count(action) == 0) return KmsError(kms_code::kInvalidAction, "unknown Action");
  WipedJson out = WipedJson::object();
  local::LocalKeyStore& store = *options.store;
  auto key_metadata_response = [&](const absl::StatusOr<local::KeyMetadata>& m)
      -> absl::StatusOr<WipedJson> {
    if (!m.ok()) return m.status();
    out["KeyMetadata"] = KeyMetadataJson(*m);
    return out;
  };
  if (action == "GenerateDataKey" || action == "GenerateDataKeyWithoutPlaintext") {
    KMS_ASSIGN_OR_RETURN(std::string_view key_id, p.Required("KeyId"));
    KMS_RETURN_IF_ERROR(CheckKey(key, key_id));
    KMS_ASSIGN_OR_RETURN(std::optional<int64_t> n,
                         p.Int("NumberOfBytes", 0, 1 << 20));
    KMS_ASSIGN_OR_RETURN(EncryptionContext ctx, p.Context("EncryptionContext"));
    GenerateDataKeyRequest req;
    req.key_id = key_id;
    req.key_spec = p.Get("KeySpec");
    req.number_of_bytes = n;
    req.encryption_context = &ctx;
    if (action == "GenerateDataKeyWithoutPlaintext") {
      KMS_ASSIGN_OR_RETURN(GenerateDataKeyWithoutPlaintextResponse r,
                           provider->GenerateDataKeyWithoutPlaintext(req));
      out["KeyId"] = r.key_id;
      out["KeyVersionId"] = r.key_version_id;
      out["CiphertextBlob"] = internal::Base64Encode(r.ciphertext_blob);
      return out;
    }
    GenerateDataKeyResponse r;
    KMS_RETURN_IF_ERROR(provider->GenerateDataKeyInto(req, &r));
    out["KeyId"] = r.key_id;
    out["KeyVersionId"] = r.key_version_id;
    out["CiphertextBlob"] = internal::Base64Encode(r.ciphertext_blob);
    out["Plaintext"] = Base64Wiped(r.plaintext);
    return out;
  }
  if (action == "Decrypt") {
    KMS_ASSIGN_OR_RETURN(std::string_view blob_b64, p.Required("CiphertextBlob"));
    absl::StatusOr<std::string> blob = internal::Base64Decode(blob_b64, kMaxCiphertextBlobSize);
    if (!blob.ok()) return KmsError(kms_code::kInvalidCiphertext, "CiphertextBlob is not valid base64");
    KMS_ASSIGN_OR_RETURN(EncryptionContext ctx, p.Context("EncryptionContext"));
    DecryptRequest req;
    req.ciphertext_blob = internal::Bytes(*blob);
    req.encryption_context = &ctx;
    DecryptResponse r;
    KMS_RETURN_IF_ERROR(provider->DecryptInto(req, &r));
    absl::Status allowed = CheckKey(key, r.key_id);
    if (!allowed.ok()) return allowed;  // r.plaintext is wiped when r goes away
    out["KeyId"] = r.key_id;
    out["KeyVersionId"] = r.key_version_id;
    out["Plaintext"] = Base64Wiped(r.plaintext);
    return out;
  }
  if (action == "Encrypt") {
    KMS_ASSIGN_OR_RETURN(std::string_view key_id, p.Required("KeyId"));
    KMS_ASSIGN_OR_RETURN(std::string_view plain_b64, p.Required("Plaintext"));
    KMS_RETURN_IF_ERROR(CheckKey(key, key_id));
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
    KMS_ASSIGN_OR_RETURN(EncryptResponse r, provider->Encrypt(req));
    out["KeyId"] = r.key_id;
    out["KeyVersionId"] = r.key_version_id;
    out["CiphertextBlob"] = internal::Base64Encode(r.ciphertext_blob);
    return out;
  }
  if (action == "ReEncrypt") {
    KMS_ASSIGN_OR_RETURN(std::string_view blob_b64, p.Required("CiphertextBlob"));
    KMS_ASSIGN_OR_RETURN(std::string_view dest, p.Required("DestinationKeyId"));
    KMS_RETURN_IF_ERROR(CheckKey(key, dest));
    absl::StatusOr<std::string> blob = internal::Base64Decode(blob_b64, kMaxCiphertextBlobSize);
    if (!blob.ok()) return KmsError(kms_code::kInvalidCiphertext, "CiphertextBlob is not valid base64");
    KMS_ASSIGN_OR_RETURN(EncryptionContext src_ctx, p.Context("SourceEncryptionContext"));
    KMS_ASSIGN_OR_RETURN(EncryptionContext dst_ctx, p.Context("DestinationEncryptionContext"));
    ReEncryptRequest req;
    req.ciphertext_blob = internal::Bytes(*blob);
    req.source_encryption_context = &src_ctx;
    req.destination_key_id = dest;
    req.destination_encryption_context = &dst_ctx;
    KMS_ASSIGN_OR_RETURN(ReEncryptResponse r, provider->ReEncrypt(req));
    // The new blob is released only if the caller may also use the source CMK.
    KMS_RETURN_IF_ERROR(CheckKey(key, r.source_key_id));
    out["KeyId"] = r.key_id;
    out["KeyVersionId"] = r.key_version_id;
    out["SourceKeyId"] = r.source_key_id;
    out["SourceKeyVersionId"] = r.source_key_version_id;
    out["CiphertextBlob"] = internal::Base64Encode(r.ciphertext_blob);
    return out;
  }
  if (action == "CreateKey") {
    std::string_view description = p.Get("Description");
    return key_metadata_response(store.CreateKey(description));
  }
  if (action == "ListKeys" || action == "ListAliases") {
    KMS_ASSIGN_OR_RETURN(std::optional<int64_t> page, p.Int("PageNumber", 1, 1 << 30));
    KMS_ASSIGN_OR_RETURN(std::optional<int64_t> size, p.Int("PageSize", 1, kMaxPageSize));
    int64_t page_number = page.value_or(1), page_size = size.value_or(kDefaultPageSize);
    WipedJson items = WipedJson::array();
    size_t total = 0;
    if (action == "ListKeys") {
      KMS_ASSIGN_OR_RETURN(std::vector<local::KeyMetadata> keys, store.ListKeys());
      total = keys.size();
      for (size_t i = static_cast<size_t>((page_number - 1) * page_size);
           i < keys.size() && i < static_cast<size_t>(page_number * page_size); ++i) {
        items.push_back({{"KeyId", keys[i].key_id}, {"KeyArn", keys[i].arn}});
      }
      out["Keys"] = {{"Key", std::move(items)}};
    } else {
      KMS_ASSIGN_OR_RETURN(std::vector<local::AliasMetadata> aliases, store.ListAliases());
      total = aliases.size();
      for (size_t i = static_cast<size_t>((page_number - 1) * page_size);
           i < aliases.size() && i < static_cast<size_t>(page_number * page_size); ++i) {
        items.push_back({{"AliasName", aliases[i].alias_name},
                         {"AliasArn", aliases[i].alias_arn},
                         {"KeyId", aliases[i].key_id}});
      }
      out["Aliases"] = {{"Alias", std::move(items)}};
    }
    out["TotalCount"] = total;
    out["PageNumber"] = page_number;
    out["PageSize"] = page_size;
    return out;
  }
  if (action == "CreateAlias") {
    KMS_ASSIGN_OR_RETURN(std::string_view alias, p.Required("AliasName"));
    KMS_ASSIGN_OR_RETURN(std::string_view key_id, p.Required("KeyId"));
    KMS_RETURN_IF_ERROR(CheckKey(key, key_id));
    KMS_RETURN_IF_ERROR(store.CreateAlias(alias, key_id));
    return out;
  }
  // The remaining actions name one CMK.
  KMS_ASSIGN_OR_RETURN(std::string_view key_id, p.Required("KeyId"));
  if (action == "DescribeKey" || action == "EnableKey" || action == "DisableKey" ||
      action == "ScheduleKeyDeletion" || action == "CancelKeyDeletion" ||
      action == "CreateKeyVersion") {
    KMS_RETURN_IF_ERROR(CheckKey(key, key_id));
  }
  if (action == "DescribeKey") return key_metadata_response(store.DescribeKey(key_id));
  if (action == "EnableKey") {
    KMS_RETURN_IF_ERROR(store.EnableKey(key_id).status());
    return out;
  }
  if (action == "DisableKey") {
    KMS_RETURN_IF_ERROR(store.DisableKey(key_id).status());
    return out;
  }
  if (action == "ScheduleKeyDeletion") {
    KMS_ASSIGN_OR_RETURN(std::optional<int64_t> days, p.Int("PendingWindowInDays", 0, 365));
    if (!days.has_value()) return KmsError(kms_code::kMissingParameter, "missing PendingWindowInDays");
    KMS_RETURN_IF_ERROR(store.ScheduleKeyDeletion(key_id, static_cast<int>(*days)).status());
    return out;
  }
  if (action == "CancelKeyDeletion") {
    KMS_RETURN_IF_ERROR(store.CancelKeyDeletion(key_id).status());
    return out;
  }
  if (action == "CreateKeyVersion") {
    KMS_ASSIGN_OR_RETURN(std::string version, store.RotateKey(key_id));
    KMS_ASSIGN_OR_RETURN(std::string guid, store.ResolveKeyId(key_id));
    out["KeyVersion"] = {{"KeyId", guid}, {"KeyVersionId", version},
                         {"CreationDate", IsoTime(Now())}};
    return out;
  }
  return KmsError(kms_code::kInvalidAction, "unknown Action");
}

Outgoing KmsServer::Impl::Handle(const Incoming& in) {
  const absl::Time start = absl::Now();
  requests.fetch_add(1, std::memory_order_relaxed);
  const std::string request_id = remote::NewUuidV4(remote::UuidCase::kUpper);
  LogFields log;
  Outgoing out;
  out.body = std::make_shared<WipedString>();

  std::vector<QueryParam> query_params, all_params;
  size_t q = in.target.find('?');
  std::string_view query =
      q == std::string::npos ? std::string_view() : std::string_view(in.target).substr(q + 1);
  absl::Status status;
  bool xml = false;
  WipedJson result;
  const AccessKey* key = nullptr;
  std::string action;
  do {
    if (in.body_error_status != 0) {
      status = KmsError(kms_code::kInvalidParameter,
                        in.body_error_status == 413
                            ? absl::StrCat("request body is larger than ", kMaxRequestBodySize,
                                           " bytes")
                            : std::string("incomplete request body"));
      out.status = in.body_error_status;
      break;
    }
    if (in.method != "GET" && in.method != "POST") {
      status = KmsError(kms_code::kInvalidParameter, "use GET or POST");
      break;
    }
    status = ParseParams(query, &query_params);
    if (!status.ok()) break;
    all_params = query_params;
    auto ct = in.headers.find("content-type");
    if (!in.body.empty() && ct != in.headers.end() &&
        ct->second.find("application/x-www-form-urlencoded") != std::string::npos) {
      status = ParseParams(in.body, &all_params);
      if (!status.ok()) break;
    }
    Params params(&all_params);
    xml = Lower(params.Get("Format")) == "xml";
    {
      std::lock_guard<std::mutex> lock(faults_mu);
      if (!options.faults.empty()) {
        InjectedFault& f = options.faults.front();
        status = KmsError(f.code, "injected fault");
        out.status = f.http_status;
        if (--f.count <= 0) options.faults.erase(options.faults.begin());
        break;
      }
    }
    status = Authenticate(in, query, query_params, all_params, params, &key, &action, &log);
    if (!status.ok()) break;
    if (!key->AllowsAction(action)) {
      status = KmsError(kms_code::kNoPermission, "this AccessKey may not call " + action);
      break;
    }
    absl::StatusOr<WipedJson> r = Dispatch(action, params, *key);
    status = r.status();
    if (r.ok()) result = std::move(r).value();
  } while (false);

  if (status.ok()) {
    out.status = 200;
    result["RequestId"] = request_id;
  } else {
    std::string code = KmsCodeOrDefault(status);
    log.code = code;
    if (out.status == 200) out.status = KmsCodeToHttpStatus(code);
    std::string message(status.message());
    std::string prefix = code + ": ";
    if (message.compare(0, prefix.size(), prefix) == 0) message = message.substr(prefix.size());
    result = WipedJson::object();
    result["RequestId"] = request_id;
    result["HostId"] = options.host_id;
    result["Code"] = code;
    result["Message"] = message;
    result["Recommend"] = "https://next.api.aliyun.com/troubleshoot?q=" + code;
  }
  if (xml) {
    out.content_type = "text/xml;charset=utf-8";
    out.body->append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    std::string root = status.ok() ? action + "Response" : "Error";
    ToXml(root, result, out.body.get());
  } else {
    out.content_type = "application/json;charset=utf-8";
    // Error messages echo request parameters, which may be invalid UTF-8: the strict handler
    // would throw type_error.316 out of the handler (httplib then answers 500 with its text).
    *out.body = result.dump(-1, ' ', false, WipedJson::error_handler_t::replace);
  }
  Log(in, out, log, request_id, absl::Now() - start);
  return out;
}

void KmsServer::Impl::Log(const Incoming& in, const Outgoing& out, const LogFields& f,
                          const std::string& request_id, absl::Duration latency) {
  if (options.access_log == nullptr) return;
  nlohmann::json j = {{"time", IsoTime(absl::Now())},
                      {"remote", in.remote},
                      {"method", in.method},
                      {"action", f.action},
                      {"access_key_id", f.access_key_id},
                      {"auth", f.auth},
                      {"status", out.status},
                      {"code", f.code},
                      {"request_id", request_id},
                      {"latency_us", absl::ToInt64Microseconds(latency)}};
  std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::lock_guard<std::mutex> lock(log_mu);
  *options.access_log << line << '\n';
  options.access_log->flush();
}

KmsServer::KmsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

KmsServer::~KmsServer() { Stop(); }

absl::StatusOr<std::unique_ptr<KmsServer>> KmsServer::New(KmsServerOptions options) {
  if (options.store == nullptr) return absl::InvalidArgumentError("KmsServer needs a store");
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  if (options.threads == 0) options.threads = 1;
  auto impl = std::make_unique<Impl>(std::move(options));
  KMS_ASSIGN_OR_RETURN(impl->provider, local::LocalKeyProvider::New(impl->options.store));
  return std::unique_ptr<KmsServer>(new KmsServer(std::move(impl)));
}

absl::Status KmsServer::Start() {
  Impl& s = *impl_;
  if (s.started.load()) return absl::FailedPreconditionError("already started");
  if (!s.options.tls_cert_file.empty()) {
    auto ssl = std::make_unique<httplib::SSLServer>(s.options.tls_cert_file.c_str(),
                                                    s.options.tls_key_file.c_str());
    if (!ssl->is_valid()) {
      return absl::FailedPreconditionError("cannot load the TLS certificate or key");
    }
    s.http = std::move(ssl);
  } else {
    s.http = std::make_unique<httplib::Server>();
  }
  // Replaces httplib's default_socket_options, which sets SO_REUSEPORT: with it a second server
  // (or any process of the same user) could bind this port too and the kernel would split the
  // connections between them. SO_REUSEADDR alone lets a restart bind while old connections are
  // in TIME_WAIT. The hook runs only for the listening socket; it remembers the descriptor so
  // the backlog can be raised after bind.
  s.http->set_socket_options([impl = &s](int fd) {
    const int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    impl->listen_fd = fd;
  });
  size_t threads = s.options.threads;
  s.http->new_task_queue = [threads] {
    return new ElasticThreadPool(threads, std::max(threads, kMaxServerThreads));
  };
  // Without TCP_NODELAY a response written in two pieces waits for the client's delayed ACK
  // (Nagle): ~26 ms per request on loopback instead of ~0.15 ms (benchmarks/remote_benchmark).
  s.http->set_tcp_nodelay(true);
  s.http->set_payload_max_length(kMaxRequestBodySize);
  // A client that sends nothing (or reads nothing) for this long loses its connection; idle
  // keep-alive connections are closed sooner so they do not hold workers.
  s.http->set_read_timeout(5, 0);
  s.http->set_write_timeout(5, 0);
  s.http->set_keep_alive_timeout(2);
  // The body is read by us (not httplib), so form bodies of any size up to kMaxRequestBodySize
  // work (httplib itself refuses url-encoded bodies above 8 KiB) and can be wiped afterwards.
  auto serve = [this](const httplib::Request& req, httplib::Response& res, std::string body,
                      int body_error_status) {
    Incoming in;
    in.body_error_status = body_error_status;
    in.method = req.method;
    in.target = req.target;
    in.body = std::move(body);
    in.remote = req.remote_addr;
    for (const auto& [name, value] : req.headers) {
      std::string lower = Lower(name);
      if (lower == "remote_addr" || lower == "remote_port" || lower == "local_addr" ||
          lower == "local_port") {
        continue;  // httplib's pseudo-headers
      }
      in.headers[lower] = value;
    }
    Outgoing out;
    ExtensionReply ext;
    if (body_error_status == 0 && impl_->options.extension &&
        impl_->options.extension(in.headers, in.body, &ext)) {
      out.status = ext.status;
      out.body = ext.body;
      out.content_type = ext.content_type;
    } else {
      out = impl_->Handle(in);
    }
    remote::WipeString(&in.body);  // may hold an Encrypt plaintext
    remote::WipeString(&in.target);
    res.status = out.status;
    std::shared_ptr<WipedString> response = out.body;
    res.set_content_provider(
        response->size(), out.content_type,
        [response](size_t offset, size_t length, httplib::DataSink& sink) {
          sink.write(response->data() + offset, length);
          return true;
        },
        [response](bool) { remote::WipeString(response.get()); });
  };
  s.http->Get("/", [serve](const httplib::Request& req, httplib::Response& res) {
    serve(req, res, std::string(), 0);
  });
  s.http->Post("/", [serve](const httplib::Request& req, httplib::Response& res,
                            const httplib::ContentReader& reader) {
    std::string body;
    const size_t content_length = static_cast<size_t>(
        std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10));
    body.reserve(std::min<size_t>(content_length, kMaxRequestBodySize));
    bool too_big = false;
    bool read = reader([&](const char* data, size_t n) {
      if (body.size() + n > kMaxRequestBodySize) {
        too_big = true;
        return false;
      }
      body.append(data, n);
      return true;
    });
    if (!read || too_big) {
      // httplib's reader fails without calling us when Content-Length is above
      // set_payload_max_length; otherwise the client stopped sending (read timeout, EOF).
      remote::WipeString(&body);
      too_big = too_big || content_length > kMaxRequestBodySize;
      serve(req, res, std::string(), too_big ? 413 : 400);
      return;
    }
    serve(req, res, std::move(body), 0);
  });
  int port;
  if (s.options.port == 0) {
    port = s.http->bind_to_any_port(s.options.listen_host.c_str());
  } else {
    port = s.http->bind_to_port(s.options.listen_host.c_str(), s.options.port) ? s.options.port : -1;
  }
  if (port <= 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot listen on ", s.options.listen_host, ":", s.options.port));
  }
  // httplib listened with a backlog of 5; listen() again on the same socket only resizes it.
  int accepting = 0;
  socklen_t len = sizeof(accepting);
  if (s.listen_fd < 0 ||
      ::getsockopt(s.listen_fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) != 0 ||
      accepting != 1 || ::listen(s.listen_fd, std::max(s.options.listen_backlog, 1)) != 0) {
    // httplib's stop() does nothing before listen: close the socket here.
    if (s.listen_fd >= 0) ::close(s.listen_fd);
    s.listen_fd = -1;
    s.http.reset();
    return absl::InternalError("cannot set the listen backlog of the server socket");
  }
  s.port = port;
  s.started = true;
  s.thread = std::thread([this] { impl_->http->listen_after_bind(); });
  while (!s.http->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return absl::OkStatus();
}

int KmsServer::port() const { return impl_->port; }

uint64_t KmsServer::requests() const { return impl_->requests.load(); }

void KmsServer::Stop() {
  if (impl_ == nullptr || !impl_->started.exchange(false)) return;
  impl_->http->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace server
}  // namespace kms_envelope
