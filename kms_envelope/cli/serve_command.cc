// `kms-envelope serve`: the KMS-compatible HTTP(S) server over the local CMK store
// (kms_envelope/server/kms_server.h, docs/remote.md).
//
//   kms-envelope --home ./store serve --access-file access.json --listen 127.0.0.1:0
//   {"Listen":"127.0.0.1:40123","Port":40123,"Tls":false}     <- stdout once ready
//
// Runs until SIGTERM or SIGINT, then stops accepting, lets in-flight requests finish and exits
// 0. Access log: one JSON line per request on stderr (or --access-log FILE).
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "kms_envelope/cli/cli_common.h"
#include "kms_envelope/cli/provider_factory.h"
#include "kms_envelope/instance/server_extension.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/server/access_policy.h"
#include "kms_envelope/server/kms_server.h"

namespace kms_envelope {
namespace cli {
namespace {

struct ServeOptions {
  std::string listen = "127.0.0.1:0";
  std::string access_file;
  std::string tls_cert;
  std::string tls_key;
  std::string access_log;
  size_t threads = 8;
  std::vector<std::string> faults;
  bool instance_api = false;
};

absl::StatusOr<server::InjectedFault> ParseFault(const std::string& spec) {
  // CODE:HTTP_STATUS:COUNT, e.g. Throttling:400:3
  size_t a = spec.find(':');
  size_t b = a == std::string::npos ? a : spec.find(':', a + 1);
  server::InjectedFault f;
  if (b == std::string::npos) {
    return KmsError(kms_code::kInvalidParameter, "--inject-fault wants CODE:HTTP_STATUS:COUNT");
  }
  f.code = spec.substr(0, a);
  if (f.code.empty() || !absl::SimpleAtoi(spec.substr(a + 1, b - a - 1), &f.http_status) ||
      !absl::SimpleAtoi(spec.substr(b + 1), &f.count) || f.http_status < 400 ||
      f.http_status > 599 || f.count < 1) {
    return KmsError(kms_code::kInvalidParameter, "--inject-fault wants CODE:HTTP_STATUS:COUNT");
  }
  return f;
}

int RunServe(const GlobalOptions& global, const ServeOptions& opts) {
  size_t colon = opts.listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(opts.listen.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return ReportError(KmsError(kms_code::kInvalidParameter, "--listen wants HOST:PORT"));
  }
  server::KmsServerOptions options;
  options.listen_host = opts.listen.substr(0, colon);
  if (options.listen_host.size() > 2 && options.listen_host.front() == '[') {
    options.listen_host = options.listen_host.substr(1, options.listen_host.size() - 2);
  }
  options.port = port;
  options.tls_cert_file = opts.tls_cert;
  options.tls_key_file = opts.tls_key;
  options.threads = opts.threads;
  for (const std::string& spec : opts.faults) {
    absl::StatusOr<server::InjectedFault> f = ParseFault(spec);
    if (!f.ok()) return ReportError(f.status());
    options.faults.push_back(*f);
  }
  absl::StatusOr<server::AccessPolicy> policy = server::AccessPolicy::FromFile(opts.access_file);
  if (!policy.ok()) return ReportError(policy.status());
  options.policy = std::move(policy).value();
  absl::StatusOr<std::shared_ptr<local::LocalKeyStore>> store = OpenLocalStore(global);
  if (!store.ok()) return ReportError(store.status());
  options.store = std::move(store).value();
  std::ofstream log_file;
  if (opts.access_log.empty() || opts.access_log == "-") {
    options.access_log = &std::cerr;
  } else {
    log_file.open(opts.access_log, std::ios::app);
    if (!log_file) {
      return ReportError(KmsError(kms_code::kInvalidParameter, "cannot open --access-log file"));
    }
    options.access_log = &log_file;
  }
  const bool tls = !opts.tls_cert.empty();
  const std::string host = options.listen_host;
  std::unique_ptr<instance::InstanceHandler> instance_handler;  // outlives the server
  if (opts.instance_api) {
    if (!tls) {
      return ReportError(KmsError(kms_code::kInvalidParameter,
                                  "--instance-api needs --tls-cert/--tls-key (HTTPS only)"));
    }
    absl::StatusOr<std::unique_ptr<instance::InstanceHandler>> h =
        instance::NewHandlerForServe(opts.access_file, options.store, options.faults);
    if (!h.ok()) return ReportError(h.status());
    instance_handler = std::move(h).value();
    options.extension = instance::ServerExtension(instance_handler.get());
  }

  // Block the stop signals in every thread (the server's threads inherit the mask); this thread
  // waits for them synchronously.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  absl::StatusOr<std::unique_ptr<server::KmsServer>> srv = server::KmsServer::New(std::move(options));
  if (!srv.ok()) return ReportError(srv.status());
  absl::Status started = (*srv)->Start();
  if (!started.ok()) return ReportError(started);
  nlohmann::json ready = {{"Listen", host + ":" + std::to_string((*srv)->port())},
                          {"Port", (*srv)->port()},
                          {"Tls", tls}};
  if (absl::Status printed = PrintJson(ready); !printed.ok()) {
    (*srv)->Stop();
    return ReportError(printed);
  }
  int sig = 0;
  sigwait(&stop_signals, &sig);
  (*srv)->Stop();
  return kExitOk;
}

}  // namespace

void RegisterServeCommand(CLI::App& app, GlobalOptions& options) {
  auto opts = std::make_shared<ServeOptions>();
  CLI::App* serve = app.add_subcommand(
      "serve", "serve the local CMK store over the Alibaba Cloud KMS RPC API (emulator)");
  serve->add_option("--listen", opts->listen, "HOST:PORT (port 0 picks a free one)")
      ->capture_default_str();
  serve->add_option("--access-file", opts->access_file,
                    "JSON file of AccessKeys, secrets and per-key policy")
      ->type_name(kPathType)
      ->required();
  serve->add_option("--tls-cert", opts->tls_cert, "PEM certificate chain (HTTPS)")
      ->type_name(kPathType);
  serve->add_option("--tls-key", opts->tls_key, "PEM private key (HTTPS)")
      ->type_name(kPathType);
  serve->add_option("--threads", opts->threads, "worker threads")->capture_default_str();
  serve->add_option("--access-log", opts->access_log, "access log file (default stderr)")
      ->type_name(kPathType);
  serve->add_option("--inject-fault", opts->faults,
                    "answer the first COUNT requests with CODE:HTTP_STATUS:COUNT (testing)");
  serve->add_flag("--instance-api", opts->instance_api,
                  "also answer the KMS 3.0 instance API (protobuf, ClientKeys from the access "
                  "file; docs/kms-instance.md) on the same HTTPS listener");
  serve->callback([&options, opts] { options.exit_code = RunServe(options, *opts); });
}

}  // namespace cli
}  // namespace kms_envelope
