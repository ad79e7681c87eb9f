// Fuzz target: the instance API's server side (kms_envelope/instance/instance_handler.h) —
// header checks, RSA signature verification and, behind them, the protobuf parsing of the
// Advance* requests and their handlers over an in-memory local store. The handler is called
// directly (no HTTP), so every input reaches the protobuf parser.
//
// Input: the first byte picks the mode, the rest is
//   0/1/2: a request body for AdvanceGenerateDataKey / AdvanceEncrypt / AdvanceDecrypt, sent
//          with correct headers and a valid signature of the fixture's ClientKey (CMK
//          `alias/fuzz`), so hostile protobuf reaches the parser and the handlers;
//   3:     `name: value` header lines, an empty line, then a body — sent as is (unsigned
//          unless the input forged a signature), exercising the header and signature checks.
// Invariants:
// - every reply is below HTTP 500 and parses: a 200 as the API's response, anything else as an
//   Error with an ErrorCode and a RequestId;
// - an AdvanceDecrypt reply of 200 releases only a data key this process wrapped (its blob was
//   returned by an earlier reply): nothing else can be opened;
// - mode 3 never gets a 200 (no input can sign without the private key).
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "absl/time/time.h"
#include "fuzz/fuzz_check.h"
#include "kms_envelope/instance/client_key.h"
#include "kms_envelope/instance/client_key_policy.h"
#include "kms_envelope/instance/instance_api.pb.h"
#include "kms_envelope/instance/instance_handler.h"
#include "kms_envelope/instance/request_signer.h"
#include "kms_envelope/local/local_key_store.h"

namespace {

using namespace kms_envelope;  // NOLINT: a fuzz target, not library code

constexpr char kClientKeyId[] = "KAAP.fuzz";
const absl::Time kNow = absl::FromUnixSeconds(1796575742);

EVP_PKEY* g_key = nullptr;
std::unique_ptr<instance::InstanceHandler> g_handler;
std::set<std::string> g_blobs;  // blobs this process was given

std::string PublicPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  return pem;
}

void Init() {
  g_key = EVP_RSA_gen(2048);
  FUZZ_CHECK(g_key != nullptr);
  local::LocalKeyStoreOptions so;
  so.in_memory = true;
  auto store = local::LocalKeyStore::Open(so);
  FUZZ_CHECK(store.ok());
  std::shared_ptr<local::LocalKeyStore> shared(std::move(store).value());
  auto cmk = shared->CreateKey("fuzz");
  FUZZ_CHECK(cmk.ok());
  FUZZ_CHECK(shared->CreateAlias("alias/fuzz", cmk->key_id).ok());
  instance::InstanceHandlerOptions o;
  o.store = shared;
  o.now = [] { return kNow; };
  FUZZ_CHECK(o.policy.Add(kClientKeyId, PublicPem(g_key), {"alias/fuzz"}).ok());
  auto h = instance::InstanceHandler::New(std::move(o));
  FUZZ_CHECK(h.ok());
  g_handler = std::move(h).value();
}

std::map<std::string, std::string> SignedHeaders(const char* api, const std::string& body) {
  instance::InstanceHeaders h = instance::MakeInstanceHeaders(api, body, kClientKeyId, kNow);
  auto auth = instance::SignStringToSign(g_key, instance::StringToSign(h));
  FUZZ_CHECK(auth.ok());
  std::map<std::string, std::string> out(h.x_kms.begin(), h.x_kms.end());
  out["date"] = h.date;
  out["content-type"] = h.content_type;
  out["content-sha256"] = h.content_sha256;
  out["authorization"] = *auth;
  return out;
}

// Mode 3: "name: value" lines up to an empty line, then the body.
std::map<std::string, std::string> RawHeaders(const std::string& in, std::string* body) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos < in.size()) {
    size_t end = in.find('\n', pos);
    if (end == std::string::npos) end = in.size();
    std::string line = in.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) break;
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    size_t v = line.find_first_not_of(' ', colon + 1);
    out[line.substr(0, colon)] = v == std::string::npos ? "" : line.substr(v);
  }
  *body = pos < in.size() ? in.substr(pos) : std::string();
  return out;
}

void CheckReply(const instance::InstanceReply& r, int mode, const std::string& body) {
  FUZZ_CHECK(r.http_status < 500);
  FUZZ_CHECK(r.body != nullptr);
  const std::string bytes(r.body->data(), r.body->size());
  if (r.http_status != 200) {
    instance::api::Error e;
    FUZZ_CHECK(e.ParseFromString(bytes));
    FUZZ_CHECK(!e.errorcode().empty() && !e.requestid().empty());
    FUZZ_CHECK(e.statuscode() == r.http_status);
    return;
  }
  FUZZ_CHECK(mode != 3);
  if (mode == 0) {
    instance::api::AdvanceGenerateDataKeyResponse g;
    FUZZ_CHECK(g.ParseFromString(bytes) && !g.ciphertextblob().empty());
    g_blobs.insert(g.ciphertextblob());
  } else if (mode == 1) {
    instance::api::AdvanceEncryptResponse e;
    FUZZ_CHECK(e.ParseFromString(bytes) && !e.ciphertextblob().empty());
    g_blobs.insert(e.ciphertextblob());
  } else {
    instance::api::AdvanceDecryptRequest req;
    FUZZ_CHECK(req.ParseFromString(body));
    FUZZ_CHECK(g_blobs.count(req.ciphertextblob()) == 1);
    instance::api::AdvanceDecryptResponse d;
    FUZZ_CHECK(d.ParseFromString(bytes) && !d.plaintext().empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (g_handler == nullptr) Init();
  if (size == 0) return 0;
  const int mode = data[0] % 4;
  std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  static const char* kApis[] = {"AdvanceGenerateDataKey", "AdvanceEncrypt", "AdvanceDecrypt"};
  std::string body;
  std::map<std::string, std::string> headers;
  if (mode < 3) {
    body = rest;
    headers = SignedHeaders(kApis[mode], body);
  } else {
    headers = RawHeaders(rest, &body);
  }
  CheckReply(g_handler->Handle(headers, body), mode, body);
  return 0;
}
