#include "kms_envelope/instance/server_extension.h"

#include "kms_envelope/instance/request_signer.h"
#include "kms_envelope/status_macros.h"

#include <string>
#include <utility>

namespace kms_envelope {
namespace instance {

server::RequestExtension ServerExtension(InstanceHandler* handler) {
  return [handler](const std::map<std::string, std::string>& headers, std::string_view body,
                   server::ExtensionReply* reply) {
    if (!InstanceHandler::Claims(headers)) return false;
    InstanceReply r = handler->Handle(headers, body);
    reply->status = r.http_status;
    reply->content_type = std::string(kProtobufContentType);
    reply->body = std::move(r.body);
    return true;
  };
}

absl::StatusOr<std::unique_ptr<InstanceHandler>> NewHandlerForServe(
    const std::string& access_file, std::shared_ptr<local::LocalKeyStore> store,
    const std::vector<server::InjectedFault>& faults) {
  InstanceHandlerOptions o;
  KMS_ASSIGN_OR_RETURN(o.policy, ClientKeyPolicy::FromFile(access_file));
  o.store = std::move(store);
  for (const server::InjectedFault& f : faults) o.faults.push_back({f.code, f.http_status, f.count});
  return InstanceHandler::New(std::move(o));
}

}  // namespace instance
}  // namespace kms_envelope
