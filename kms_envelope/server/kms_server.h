// KmsServer: a KMS-compatible HTTP(S) endpoint (Alibaba Cloud KMS RPC API, 2016-01-20) over the
// local CMK store — the peer of RemoteKeyProvider in tests, and a local emulator that real
// Alibaba Cloud SDKs can be pointed at (`kms-envelope serve`).
//
//   KmsServerOptions options;
//   options.store = shared_store;                       // LocalKeyStore
//   KMS_ASSIGN_OR_RETURN(options.policy, AccessPolicy::FromFile("access.json"));
//   options.port = 0;                                    // pick a free port
//   KMS_ASSIGN_OR_RETURN(std::unique_ptr<KmsServer> server, KmsServer::New(std::move(options)));
//   KMS_RETURN_IF_ERROR(server->Start());                // binds, serves on background threads
//   int port = server->port();
//   ...
//   server->Stop();                                      // graceful: in-flight requests finish
//
// Requests (as the SDKs send them): GET or POST to `/`; parameters in the query string and/or an
// application/x-www-form-urlencoded body; V1 signatures (Signature parameter, HMAC-SHA1) or V3
// (Authorization: ACS3-HMAC-SHA256, x-acs-* headers; the body hash must match
// x-acs-content-sha256). Responses are JSON, or XML with Format=XML.
//
// Authentication, in order: MissingParameter (no Action), IncompleteSignature (signature
// parts missing), InvalidAccessKeyId.NotFound, InvalidTimeStamp.Format,
// InvalidTimeStamp.Expired (more than max_clock_skew off), SignatureDoesNotMatch (constant-time
// compare). Then, per action (actions.h, the one table of actions): Forbidden.NoPermission for
// an action the key may not call, InvalidAction.NotFound, InvalidParameter for any parameter the
// action does not accept (request_params.h: nothing is ignored; map parameters such as
// EncryptionContext come as a JSON string or flattened `EncryptionContext.<key>`), and the key
// policy (key_policy.h) on every CMK the request names, including the CMK a CiphertextBlob
// names, before anything is decrypted: one Forbidden.NoPermission for every CMK the key may not
// use. Only then is the SignatureNonce recorded (SignatureNonceUsed on reuse), in the access
// key's own table (at most nonce_capacity_per_key live nonces: Throttling for that key beyond),
// until the later of arrival and Timestamp plus max_clock_skew. Errors are {RequestId, HostId,
// Code, Message, Recommend} with the HTTP status of KmsCodeToHttpStatus; an exception that
// escapes an action is InternalFailure, answered and logged like any other error.
//
// Limits: request body at most kMaxRequestBodySize (larger: HTTP 413, InvalidParameter), at
// most kMaxRequestParams parameters, each value at most kMaxParamValueSize; duplicate, non-UTF-8
// parameters and a Format other than JSON/XML are InvalidParameter.
//
// Secrets: response bodies are built in WipedString and streamed to httplib through a content
// provider that wipes them when sent; decoded request plaintext (Encrypt) is SecretBytes.
// httplib's own copies of the raw request (target, body) are not wiped (docs/remote.md).
//
// Access log: one JSON object per request (time, remote, method, action, access_key_id, auth,
// status, code, request_id, latency_us); never a Plaintext, a signature or a secret.
//
// Thread safety: handlers run on a thread pool of `threads` workers that grows up to
// kMaxServerThreads under load; Start/Stop from one thread.
#ifndef KMS_ENVELOPE_SERVER_KMS_SERVER_H_
#define KMS_ENVELOPE_SERVER_KMS_SERVER_H_

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kms_envelope/local/local_key_store.h"
#include "kms_envelope/kms_api/wiped_string.h"
#include "kms_envelope/server/access_policy.h"
#include "kms_envelope/server/actions.h"
#include "kms_envelope/server/nonce_cache.h"
#include "kms_envelope/server/request_params.h"

namespace kms_envelope {
namespace server {

inline constexpr size_t kMaxRequestBodySize = 256 * 1024;
// Each connection holds a worker thread while it is open; the pool grows from `threads` up to
// this many when connections would otherwise wait (slow clients cannot starve the others below
// that). Reads and writes time out after 5 s without progress.
inline constexpr size_t kMaxServerThreads = 128;

// Fault injection: the first `count` requests (in order of arrival, before authentication) are
// answered with this error, e.g. {"Throttling", 400, 3} or {"ServiceUnavailableTemporary", 503,
// 2}.
struct InjectedFault {
  std::string code;
  int http_status = 503;
  int count = 1;
};

// A second API answered on the same listener (kms_envelope/instance: the KMS 3.0 instance
// gateway API). Called first with every request whose body was read (header names lower case);
// returns true when it answered, filling `reply`.
struct ExtensionReply {
  int status = 200;
  std::string content_type;
  std::shared_ptr<kms_api::WipedString> body;  // wiped once sent
};
using RequestExtension = std::function<bool(const std::map<std::string, std::string>& headers,
                                            std::string_view body, ExtensionReply* reply)>;

struct KmsServerOptions {
  std::shared_ptr<local::LocalKeyStore> store;
  AccessPolicy policy;
  std::string listen_host = "127.0.0.1";
  int port = 0;  // 0: pick a free port (see port())
  // Connections the kernel queues for accept. cpp-httplib 0.11.4 listens with a backlog of 5:
  // a burst of more simultaneous connects had SYNs dropped and clients stalled for the 1 s (then
  // 3 s, 7 s ...) SYN retransmission. The kernel caps it at net.core.somaxconn.
  int listen_backlog = 1024;
  std::string tls_cert_file;  // both set: HTTPS (httplib::SSLServer)
  std::string tls_key_file;
  size_t threads = 8;
  absl::Duration max_clock_skew = absl::Minutes(15);
  // Live nonces remembered per access key (NonceCache); memory is at most about 100 bytes x
  // this x the number of access keys that sign requests.
  size_t nonce_capacity_per_key = kDefaultNonceCapacityPerKey;
  std::function<absl::Time()> now;  // null: absl::Now
  std::vector<InjectedFault> faults;
  std::ostream* access_log = nullptr;  // null: no access log
  std::string host_id = "kms.local";
  RequestExtension extension;  // null: none
};

class KmsServer {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<KmsServer>> New(KmsServerOptions options);
  ~KmsServer();

  // Binds and starts serving on a background thread. FailedPrecondition if it cannot bind (also
  // when another socket, of this or any process, already listens on the port: the listening
  // socket sets SO_REUSEADDR but never SO_REUSEPORT, which cpp-httplib sets by default and which
  // let a second server share the port and silently take half the connections) or the TLS files
  // cannot be loaded.
  [[nodiscard]] absl::Status Start();
  // The bound port (after Start).
  int port() const;
  // Stops accepting, lets in-flight requests finish, joins. Idempotent.
  void Stop();

  // Requests handled so far (for tests).
  uint64_t requests() const;

  struct Impl;

 private:
  explicit KmsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace server
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_SERVER_KMS_SERVER_H_
