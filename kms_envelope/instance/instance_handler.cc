#include "kms_envelope/instance/instance_handler.h"

#include <google/protobuf/message.h>
#include <google/protobuf/unknown_field_set.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/instance/instance_api.pb.h"
#include "kms_envelope/instance/wiped_message.h"
#include "kms_envelope/instance/request_signer.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/internal/uuid.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/kms_api/key_id.h"
#include "kms_envelope/local/ciphertext_blob.h"

namespace kms_envelope {
namespace instance {
namespace {

using internal::Av;
using kms_api::WipedString;

constexpr std::string_view kAlgorithm = "AES_GCM";

absl::Status Invalid(std::string_view what) {
  return KmsError(kms_code::kInvalidParameter, what);
}

const std::string* Header(const std::map<std::string, std::string>& h, const std::string& name) {
  auto it = h.find(name);
  return it == h.end() ? nullptr : &it->second;
}

// Parses `body` as `m`: InvalidParameter when it does not parse or carries fields this API
// version does not define (a newer client's field would otherwise be dropped unread).
absl::Status ParseRequest(std::string_view body, google::protobuf::Message* m) {
  if (!m->ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return Invalid("the request body is not a valid protobuf request");
  }
  if (!m->GetReflection()->GetUnknownFields(*m).empty()) {
    return Invalid("the request carries fields this API does not define");
  }
  return absl::OkStatus();
}

// Algorithm, Iv and PaddingMode: only the defaults of a symmetric CMK are supported.
absl::Status CheckCipherFields(std::string_view algorithm, std::string_view iv,
                               std::string_view padding) {
  if (!algorithm.empty() && algorithm != kAlgorithm) return Invalid("Algorithm must be AES_GCM");
  if (!iv.empty()) return Invalid("Iv is chosen by the server: leave it empty");
  if (!padding.empty()) return Invalid("PaddingMode applies to no symmetric CMK here");
  return absl::OkStatus();
}

// The local context an Aad is bound as.
absl::StatusOr<EncryptionContext> ContextOf(std::string_view aad) {
  if (aad.empty()) return EncryptionContext();
  if (aad.size() > kMaxInstanceAadSize) return Invalid("Aad is longer than 3072 bytes");
  return EncryptionContext::FromPairs({{"Aad", internal::Base64Encode(aad)}});
}

// Error text may echo request bytes (a header name); proto3 strings must be UTF-8 or the
// client cannot parse the Error, so anything but printable ASCII becomes '?'.
std::string PrintableAscii(std::string_view s) {
  std::string out(s.substr(0, 1024));
  for (char& c : out) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return out;
}

std::string IvOf(std::string_view blob) {
  if (blob.size() < local::kKeyVersionIdSize + local::kBlobIvSize) return std::string();
  return std::string(blob.substr(local::kKeyVersionIdSize, local::kBlobIvSize));
}

}  // namespace

InstanceHandler::InstanceHandler(InstanceHandlerOptions options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<InstanceHandler>> InstanceHandler::New(
    InstanceHandlerOptions options) {
  if (options.store == nullptr) return absl::InvalidArgumentError("InstanceHandler needs a store");
  std::unique_ptr<InstanceHandler> h(new InstanceHandler(std::move(options)));
  KMS_ASSIGN_OR_RETURN(h->provider_, local::LocalKeyProvider::New(h->options_.store));
  return h;
}

bool InstanceHandler::Claims(const std::map<std::string, std::string>& headers) {
  return headers.count("x-kms-apiname") > 0;
}

InstanceReply InstanceHandler::Handle(const std::map<std::string, std::string>& headers,
                                      std::string_view body) {
  const uint64_t n = requests_.fetch_add(1);
  InstanceReply reply;
  std::string request_id;
  internal::UniqueUuidInto(&request_id);
  if (const std::string* api = Header(headers, "x-kms-apiname")) reply.api_name = api->substr(0, 64);
  absl::Status status;
  uint64_t fault_end = 0;
  for (const InstanceFault& f : options_.faults) {
    fault_end += static_cast<uint64_t>(f.count);
    if (n < fault_end) {
      status = KmsError(f.code, "injected fault");
      reply.http_status = f.http_status;
      break;
    }
  }
  const ClientKeyEntry* entry = nullptr;
  if (status.ok() && body.size() > kMaxInstanceRequestSize) {
    status = Invalid("the request body is larger than 64 KiB");
  }
  if (status.ok()) status = Authenticate(headers, body, &entry);
  if (status.ok()) {
    reply.client_key_id = entry->key_id;
    absl::StatusOr<WipedString> out = Dispatch(reply.api_name, body, *entry);
    if (out.ok()) {
      reply.body = std::make_shared<WipedString>(std::move(out).value());
      return reply;
    }
    status = out.status();
  }
  reply.code = GetKmsErrorCode(status);
  if (reply.code.empty()) reply.code = std::string(kms_code::kInternalFailure);
  if (reply.http_status == 200) reply.http_status = KmsCodeToHttpStatus(reply.code);
  api::Error error;
  error.set_statuscode(reply.http_status);
  error.set_errorcode(PrintableAscii(reply.code));
  error.set_errormessage(PrintableAscii(internal::Sv(status.message())));
  error.set_requestid(request_id);
  reply.body = std::make_shared<WipedString>(SerializeWiped(error));
  return reply;
}

absl::Status InstanceHandler::Authenticate(const std::map<std::string, std::string>& headers,
                                           std::string_view body,
                                           const ClientKeyEntry** entry) {
  InstanceHeaders h;
  for (const auto& [name, value] : headers) {
    if (name.compare(0, 6, "x-kms-") != 0) continue;
    if (name != "x-kms-apiname" && name != "x-kms-apiversion" &&
        name != "x-kms-signaturemethod" && name != kAccessKeyIdHeader) {
      return Invalid(absl::StrCat("unknown header ", Av(name.substr(0, 64))));
    }
    h.x_kms[name] = value;
  }
  const std::string* date = Header(headers, "date");
  const std::string* sha = Header(headers, "content-sha256");
  const std::string* type = Header(headers, "content-type");
  const std::string* auth = Header(headers, "authorization");
  if (h.x_kms.size() != 4 || date == nullptr || sha == nullptr || type == nullptr ||
      auth == nullptr) {
    return KmsError(kms_code::kMissingParameter,
                    "x-kms-apiname, x-kms-apiversion, x-kms-signaturemethod, "
                    "x-kms-acccesskeyid, date, content-type, content-sha256 and "
                    "authorization are required");
  }
  if (h.x_kms["x-kms-apiversion"] != kInstanceApiVersion) return Invalid("unsupported x-kms-apiversion");
  if (h.x_kms["x-kms-signaturemethod"] != kSignatureMethod) {
    return Invalid("x-kms-signaturemethod must be RSA_PKCS1_SHA_256");
  }
  if (*type != kProtobufContentType) return Invalid("content-type must be application/x-protobuf");
  if (*sha != UpperHexSha256(body)) return Invalid("content-sha256 does not match the body");
  *entry = options_.policy.Find(h.x_kms[std::string(kAccessKeyIdHeader)]);
  if (*entry == nullptr) {
    return KmsError(kms_code::kInvalidAccessKeyIdNotFound, "unknown ClientKey");
  }
  KMS_ASSIGN_OR_RETURN(absl::Time sent, ParseHttpDate(*date));
  if (absl::AbsDuration(Now() - sent) > options_.max_clock_skew) {
    return KmsError(kRequestTimeTooSkewed, "the date is more than 15 minutes off");
  }
  h.date = *date;
  h.content_sha256 = *sha;
  h.content_type = *type;
  if (!VerifyAuthorization((*entry)->public_key.get(), StringToSign(h), *auth)) {
    return KmsError(kms_code::kSignatureDoesNotMatch, "the request signature does not match");
  }
  return absl::OkStatus();
}

absl::StatusOr<WipedString> InstanceHandler::Dispatch(std::string_view api, std::string_view body,
                                                      const ClientKeyEntry& entry) {
  if (api == "AdvanceGenerateDataKey") return GenerateDataKey(body, entry);
  if (api == "AdvanceEncrypt") return Encrypt(body, entry);
  if (api == "AdvanceDecrypt") return Decrypt(body, entry);
  return KmsError(kms_code::kInvalidAction, "unsupported x-kms-apiname");
}

absl::Status InstanceHandler::CheckKey(const ClientKeyEntry& entry, std::string_view requested) {
  absl::StatusOr<std::string> guid = options_.store->ResolveKeyId(requested);
  for (const std::string& allowed : entry.keys) {
    if (allowed == "*" || allowed == requested) return absl::OkStatus();
    if (!guid.ok()) continue;
    if (allowed == *guid) return absl::OkStatus();
    if (kms_api::IsAlias(allowed)) {
      absl::StatusOr<std::string> target = options_.store->ResolveKeyId(allowed);
      if (target.ok() && *target == *guid) return absl::OkStatus();
    }
  }
  return KmsError(kms_code::kNoPermission, "this ClientKey may not use that CMK");
}

absl::StatusOr<WipedString> InstanceHandler::GenerateDataKey(std::string_view body,
                                                             const ClientKeyEntry& entry) {
  api::AdvanceGenerateDataKeyRequest req;
  KMS_RETURN_IF_ERROR(ParseRequest(body, &req));
  if (req.keyid().empty()) return KmsError(kms_code::kMissingParameter, "KeyId is required");
  KMS_RETURN_IF_ERROR(CheckKey(entry, req.keyid()));
  KMS_ASSIGN_OR_RETURN(EncryptionContext ctx, ContextOf(req.aad()));
  GenerateDataKeyRequest g;
  g.key_id = req.keyid();
  if (req.numberofbytes() != 0) g.number_of_bytes = req.numberofbytes();
  g.encryption_context = &ctx;
  KMS_ASSIGN_OR_RETURN(GenerateDataKeyResponse r, provider_->GenerateDataKey(g));
  api::AdvanceGenerateDataKeyResponse out;
  out.set_keyid(r.key_id);
  out.set_iv(IvOf(r.ciphertext_blob));
  out.mutable_plaintext()->assign(reinterpret_cast<const char*>(r.plaintext.data()),
                                  r.plaintext.size());
  out.set_ciphertextblob(r.ciphertext_blob);
  out.set_requestid(r.request_id);
  out.set_algorithm(std::string(kAlgorithm));
  out.set_keyversionid(r.key_version_id);
  WipedString bytes = SerializeWiped(out);
  WipePlaintext(&out);
  return bytes;
}

absl::StatusOr<WipedString> InstanceHandler::Encrypt(std::string_view body,
                                                     const ClientKeyEntry& entry) {
  api::AdvanceEncryptRequest req;
  absl::Status s = ParseRequest(body, &req);
  if (s.ok() && req.keyid().empty()) s = KmsError(kms_code::kMissingParameter, "KeyId is required");
  if (s.ok()) s = CheckCipherFields(req.algorithm(), req.iv(), req.paddingmode());
  if (s.ok()) s = CheckKey(entry, req.keyid());
  absl::StatusOr<EncryptionContext> ctx = s.ok() ? ContextOf(req.aad()) : s;
  absl::StatusOr<EncryptResponse> r = absl::UnknownError("not run");
  if (ctx.ok()) {
    EncryptRequest e;
    e.key_id = req.keyid();
    e.plaintext = internal::Bytes(req.plaintext());
    e.encryption_context = &*ctx;
    r = provider_->Encrypt(e);
  }
  WipePlaintext(&req);
  if (!ctx.ok()) return ctx.status();
  if (!r.ok()) return r.status();
  api::AdvanceEncryptResponse out;
  out.set_keyid(r->key_id);
  out.set_ciphertextblob(r->ciphertext_blob);
  out.set_iv(IvOf(r->ciphertext_blob));
  out.set_requestid(r->request_id);
  out.set_algorithm(std::string(kAlgorithm));
  out.set_keyversionid(r->key_version_id);
  return SerializeWiped(out);
}

absl::StatusOr<WipedString> InstanceHandler::Decrypt(std::string_view body,
                                                     const ClientKeyEntry& entry) {
  api::AdvanceDecryptRequest req;
  KMS_RETURN_IF_ERROR(ParseRequest(body, &req));
  KMS_RETURN_IF_ERROR(CheckCipherFields(req.algorithm(), "", req.paddingmode()));
  if (req.ciphertextblob().empty() || req.ciphertextblob().size() > kMaxCiphertextBlobSize) {
    return KmsError(kms_code::kInvalidCiphertext, "CiphertextBlob is empty or too long");
  }
  // The SDKs' envelope sample sends back the Iv AdvanceGenerateDataKey returned: accepted when
  // it is the blob's own.
  if (!req.iv().empty() && req.iv() != IvOf(req.ciphertextblob())) {
    return Invalid("Iv is not the IV of this CiphertextBlob");
  }
  KMS_ASSIGN_OR_RETURN(EncryptionContext ctx, ContextOf(req.aad()));
  DecryptRequest d;
  d.ciphertext_blob = internal::Bytes(req.ciphertextblob());
  d.encryption_context = &ctx;
  KMS_ASSIGN_OR_RETURN(DecryptResponse r, provider_->Decrypt(d));
  // The blob named and authenticated its CMK; only now is it known which one to check.
  KMS_RETURN_IF_ERROR(CheckKey(entry, r.key_id));  // r.plaintext is wiped on return
  if (!req.keyid().empty()) {
    absl::StatusOr<std::string> named = options_.store->ResolveKeyId(req.keyid());
    if (!named.ok() || *named != r.key_id) {
      return KmsError(kms_code::kKeyIdNotMatch, "KeyId does not name the CMK of the blob");
    }
  }
  api::AdvanceDecryptResponse out;
  out.set_keyid(r.key_id);
  out.mutable_plaintext()->assign(reinterpret_cast<const char*>(r.plaintext.data()),
                                  r.plaintext.size());
  out.set_requestid(r.request_id);
  out.set_algorithm(std::string(kAlgorithm));
  out.set_keyversionid(r.key_version_id);
  WipedString bytes = SerializeWiped(out);
  WipePlaintext(&out);
  return bytes;
}

}  // namespace instance
}  // namespace kms_envelope
