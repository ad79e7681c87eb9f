#include "kms_envelope/server/kms_server.h"

#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "kms_envelope/internal/iso_time.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/internal/uuid.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/local/local_key_provider.h"
#include "kms_envelope/kms_api/wiped_string.h"
#include "kms_envelope/kms_api/xml_response.h"
#include "kms_envelope/server/actions.h"
#include "kms_envelope/server/authenticator.h"
#include "kms_envelope/server/elastic_thread_pool.h"
#include "kms_envelope/server/exchange.h"
#include "kms_envelope/server/key_policy.h"
#include "kms_envelope/server/nonce_cache.h"
#include "kms_envelope/server/request_params.h"

namespace kms_envelope {
namespace server {
namespace {

using kms_api::QueryParam;
using kms_api::WipedString;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Format=JSON or XML (any case; absent: JSON). Anything else is refused, in JSON.
absl::StatusOr<bool> WantsXml(const Params& params) {
  const WipedString* format = params.Find("Format");
  if (format == nullptr) return false;
  std::string f = Lower(*format);
  if (f == "xml") return true;
  if (f == "json") return false;
  return KmsError(kms_code::kInvalidParameter, "Format must be JSON or XML");
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
  Authenticator authenticator;
  std::mutex faults_mu;
  std::mutex log_mu;

  explicit Impl(KmsServerOptions o)
      : options(std::move(o)),
        nonces(options.nonce_capacity_per_key),
        authenticator(options.policy, options.max_clock_skew, [this] { return Now(); }) {}

  absl::Time Now() const { return options.now ? options.now() : absl::Now(); }

  // The transport's entry: a request as httplib parsed it -> the response it sends.
  void Serve(const httplib::Request& req, httplib::Response& res, std::string body,
             int body_error_status);
  Outgoing Handle(const Incoming& in);
  // Everything between the raw request and the response fields.
  absl::StatusOr<WipedJson> Process(const Incoming& in, Exchange* x);
  absl::Status ReadParams(const Incoming& in, Exchange* x);
  bool TakeInjectedFault(absl::Status* status, int* http_status);
  absl::Status RecordNonce(const Caller& caller);
  absl::StatusOr<WipedJson> RunAction(const Params& params, const Caller& caller);
  void WriteResponse(const absl::Status& status, WipedJson result, const Exchange& x,
                     const std::string& request_id, Outgoing* out);
  void Log(const Incoming& in, const Outgoing& out, const LogFields& f, const std::string& request_id,
           absl::Duration latency);
};

// A nonce is remembered only for requests that passed every check before the action runs
// (signature, action, parameters, key policy), in the caller's own table, until the request's
// Timestamp stops being acceptable.
absl::Status KmsServer::Impl::RecordNonce(const Caller& caller) {
  const absl::Time now = Now();
  const absl::Time expiry = std::max(now, caller.timestamp) + options.max_clock_skew;
  switch (nonces.Insert(caller.access_key_id, caller.nonce, now, expiry)) {
    case NonceCache::Result::kFresh:
      return absl::OkStatus();
    case NonceCache::Result::kReused:
      return KmsError(kms_code::kSignatureNonceUsed, "the SignatureNonce was already used");
    case NonceCache::Result::kFull:
      return KmsError(kms_code::kThrottling,
                      "too many requests of this AccessKey in the replay window");
  }
  return absl::OkStatus();
}

absl::StatusOr<WipedJson> KmsServer::Impl::RunAction(const Params& params, const Caller& caller) {
  const AccessKey& key = *caller.key;
  if (!key.AllowsAction(caller.action)) {
    return KmsError(kms_code::kNoPermission, "this AccessKey may not call " + caller.action);
  }
  const ActionSpec* spec = FindAction(caller.action);
  if (spec == nullptr) return KmsError(kms_code::kInvalidAction, "unknown Action");
  KMS_RETURN_IF_ERROR(params.CheckAccepted(spec->name, spec->params, spec->map_params));
  ActionEnv env{*options.store, *provider, key, Now()};
  KeyPolicy policy(*options.store, key);
  KMS_RETURN_IF_ERROR(spec->check_keys(env, params, policy));
  KMS_RETURN_IF_ERROR(RecordNonce(caller));
  return spec->handler(env, params, policy);
}

absl::Status KmsServer::Impl::ReadParams(const Incoming& in, Exchange* x) {
  if (in.body_error_status != 0) {
    x->http_status = in.body_error_status;
    return KmsError(kms_code::kInvalidParameter,
                    in.body_error_status == 413
                        ? absl::StrCat("request body is larger than ", kMaxRequestBodySize, " bytes")
                        : std::string("incomplete request body"));
  }
  if (in.method != "GET" && in.method != "POST") {
    return KmsError(kms_code::kInvalidParameter, "use GET or POST");
  }
  KMS_RETURN_IF_ERROR(ParseParams(in.Query(), &x->query_params));
  x->all_params = x->query_params;
  if (!in.body.empty() &&
      in.Header("content-type").find("application/x-www-form-urlencoded") != std::string::npos) {
    KMS_RETURN_IF_ERROR(ParseParams(in.body, &x->all_params));
  }
  KMS_ASSIGN_OR_RETURN(x->xml, WantsXml(Params(&x->all_params)));
  return absl::OkStatus();
}

bool KmsServer::Impl::TakeInjectedFault(absl::Status* status, int* http_status) {
  std::lock_guard<std::mutex> lock(faults_mu);
  if (options.faults.empty()) return false;
  InjectedFault& f = options.faults.front();
  *status = KmsError(f.code, "injected fault");
  *http_status = f.http_status;
  if (--f.count <= 0) options.faults.erase(options.faults.begin());
  return true;
}

absl::StatusOr<WipedJson> KmsServer::Impl::Process(const Incoming& in, Exchange* x) {
  KMS_RETURN_IF_ERROR(ReadParams(in, x));
  absl::Status fault;
  if (TakeInjectedFault(&fault, &x->http_status)) return fault;
  KMS_RETURN_IF_ERROR(authenticator.Authenticate(in, x));
  return RunAction(Params(&x->all_params), x->caller);
}

void KmsServer::Impl::WriteResponse(const absl::Status& status, WipedJson result,
                                    const Exchange& x, const std::string& request_id,
                                    Outgoing* out) {
  if (status.ok()) {
    out->status = 200;
    result["RequestId"] = request_id;
  } else {
    std::string code = KmsCodeOrDefault(status);
    out->status = x.http_status != 0 ? x.http_status : KmsCodeToHttpStatus(code);
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
  if (x.xml) {
    out->content_type = "text/xml;charset=utf-8";
    // The API reference's root for every success document is <KMS> (the common-parameters page
    // and each action's sample), errors are <Error>.
    kms_api::RenderXmlResponse(status.ok() ? "KMS" : "Error", result, out->body.get());
  } else {
    out->content_type = "application/json;charset=utf-8";
    // Parameters are UTF-8 (ParseParams), but the replacing handler keeps a stray byte from
    // anywhere else (a store error message) from throwing out of the handler.
    *out->body = result.dump(-1, ' ', false, WipedJson::error_handler_t::replace);
  }
}

Outgoing KmsServer::Impl::Handle(const Incoming& in) {
  const absl::Time start = absl::Now();
  requests.fetch_add(1, std::memory_order_relaxed);
  const std::string request_id = internal::RandomUuid(internal::UuidCase::kUpper);
  Outgoing out;
  out.body = std::make_shared<WipedString>();
  Exchange x;
  absl::Status status;
  WipedJson result;
  try {
    absl::StatusOr<WipedJson> r = Process(in, &x);
    status = r.status();
    if (r.ok()) result = *std::move(r);
  } catch (const std::exception&) {
    // Last line of defence: an answer and a log line instead of httplib's empty 500.
    status = KmsError(kms_code::kInternalFailure, "the request could not be processed");
    x.http_status = 0;
    x.xml = false;
  }
  if (!status.ok()) x.log.code = KmsCodeOrDefault(status);
  WriteResponse(status, std::move(result), x, request_id, &out);
  Log(in, out, x.log, request_id, absl::Now() - start);
  return out;
}

void KmsServer::Impl::Log(const Incoming& in, const Outgoing& out, const LogFields& f,
                          const std::string& request_id, absl::Duration latency) {
  if (options.access_log == nullptr) return;
  nlohmann::json j = {{"time", internal::FormatIsoTime(absl::Now())},
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

namespace {

// Reads a POST body up to kMaxRequestBodySize. Returns 0, or the HTTP status of the failure
// (413 too large, 400 the client stopped sending) with *body wiped and empty.
int ReadBody(const httplib::Request& req, const httplib::ContentReader& reader, std::string* body) {
  const size_t content_length = static_cast<size_t>(
      std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10));
  body->reserve(std::min<size_t>(content_length, kMaxRequestBodySize));
  bool too_big = false;
  bool read = reader([&](const char* data, size_t n) {
    if (body->size() + n > kMaxRequestBodySize) {
      too_big = true;
      return false;
    }
    body->append(data, n);
    return true;
  });
  if (read && !too_big) return 0;
  // httplib's reader fails without calling us when Content-Length is above
  // set_payload_max_length; otherwise the client stopped sending (read timeout, EOF).
  kms_api::WipeString(body);
  return too_big || content_length > kMaxRequestBodySize ? 413 : 400;
}

}  // namespace

void KmsServer::Impl::Serve(const httplib::Request& req, httplib::Response& res, std::string body,
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
  if (body_error_status == 0 && options.extension && options.extension(in.headers, in.body, &ext)) {
    out.status = ext.status;
    out.body = ext.body;
    out.content_type = ext.content_type;
  } else {
    out = Handle(in);
  }
  kms_api::WipeString(&in.body);  // may hold an Encrypt plaintext
  kms_api::WipeString(&in.target);
  res.status = out.status;
  std::shared_ptr<WipedString> response = out.body;
  res.set_content_provider(
      response->size(), out.content_type,
      [response](size_t offset, size_t length, httplib::DataSink& sink) {
        sink.write(response->data() + offset, length);
        return true;
      },
      [response](bool) { kms_api::WipeString(response.get()); });
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
  s.http->Get("/", [impl = &s](const httplib::Request& req, httplib::Response& res) {
    impl->Serve(req, res, std::string(), 0);
  });
  s.http->Post("/", [impl = &s](const httplib::Request& req, httplib::Response& res,
                                const httplib::ContentReader& reader) {
    std::string body;
    int body_error_status = ReadBody(req, reader, &body);
    impl->Serve(req, res, std::move(body), body_error_status);
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
