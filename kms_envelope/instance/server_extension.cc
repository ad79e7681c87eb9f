#include "kms_envelope/instance/server_extension.h"

#include "kms_envelope/instance/request_signer.h"

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

}  // namespace instance
}  // namespace kms_envelope
