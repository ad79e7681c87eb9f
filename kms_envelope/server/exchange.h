// The request pipeline's records, shared by the server's stages (kms_server.cc: transport,
// parameters, response, log; authenticator.cc: signatures): what arrived, what the pipeline
// learned about it as it went, and what goes back.
#ifndef KMS_ENVELOPE_SERVER_EXCHANGE_H_
#define KMS_ENVELOPE_SERVER_EXCHANGE_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "kms_envelope/kms_api/query_params.h"
#include "kms_envelope/kms_api/wiped_string.h"
#include "kms_envelope/server/access_policy.h"

namespace kms_envelope {
namespace server {

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

  std::string_view Header(const char* name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string_view() : std::string_view(it->second);
  }
  std::string_view Query() const {
    size_t q = target.find('?');
    return q == std::string::npos ? std::string_view() : std::string_view(target).substr(q + 1);
  }
};

struct Outgoing {
  int status = 200;
  std::shared_ptr<kms_api::WipedString> body;
  std::string content_type;
};

// What the access log records.
struct LogFields {
  std::string action;
  std::string access_key_id;
  std::string auth;
  std::string code;
};

// A request whose signature verified, before its nonce is recorded.
struct Caller {
  const AccessKey* key = nullptr;
  std::string action;
  std::string access_key_id;
  std::string nonce;
  absl::Time timestamp;
};

// The parts of a request the pipeline fills in as it goes.
struct Exchange {
  std::vector<kms_api::QueryParam> query_params;  // the query string alone (V3 signs only these)
  std::vector<kms_api::QueryParam> all_params;    // query and form body
  bool xml = false;
  int http_status = 0;  // set by the transport-level errors that fix it
  Caller caller;
  LogFields log;
};

}  // namespace server
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_SERVER_EXCHANGE_H_
