// Hooks InstanceHandler into KmsServer: the instance API on the same listener as the
// 2016-01-20 API (`kms-envelope serve --instance-api`). Requests with an `x-kms-apiname`
// header go to the handler; all others to KmsServer.
//
//   KmsServerOptions o;
//   o.extension = instance::ServerExtension(handler.get());  // handler outlives the server
#ifndef KMS_ENVELOPE_INSTANCE_SERVER_EXTENSION_H_
#define KMS_ENVELOPE_INSTANCE_SERVER_EXTENSION_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kms_envelope/instance/instance_handler.h"
#include "kms_envelope/server/kms_server.h"

namespace kms_envelope {
namespace instance {

server::RequestExtension ServerExtension(InstanceHandler* handler);

// For `serve --instance-api`: a handler over `store` accepting the ClientKeys of `access_file`,
// with the server's injected faults (counted separately from the 2016-01-20 API's).
[[nodiscard]] absl::StatusOr<std::unique_ptr<InstanceHandler>> NewHandlerForServe(
    const std::string& access_file, std::shared_ptr<local::LocalKeyStore> store,
    const std::vector<server::InjectedFault>& faults);

}  // namespace instance
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_INSTANCE_SERVER_EXTENSION_H_
