// Hooks InstanceHandler into KmsServer: the instance API on the same listener as the
// 2016-01-20 API (`kms-envelope serve --instance-api`). Requests with an `x-kms-apiname`
// header go to the handler; all others to KmsServer.
//
//   KmsServerOptions o;
//   o.extension = instance::ServerExtension(handler.get());  // handler outlives the server
#ifndef KMS_ENVELOPE_INSTANCE_SERVER_EXTENSION_H_
#define KMS_ENVELOPE_INSTANCE_SERVER_EXTENSION_H_

#include "kms_envelope/instance/instance_handler.h"
#include "kms_envelope/server/kms_server.h"

namespace kms_envelope {
namespace instance {

server::RequestExtension ServerExtension(InstanceHandler* handler);

}  // namespace instance
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_INSTANCE_SERVER_EXTENSION_H_
