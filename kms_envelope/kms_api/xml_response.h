// The KMS API's XML answers (Format=XML), both ways, so the client's reader and the server's
// writer share one idea of the shape. ParseXmlResponse turns an XML answer into the JSON object
// its JSON twin would be, so one response reader serves both; RenderXmlResponse writes a JSON
// result as the service renders it.
//
//   WipedJson j;
//   KMS_RETURN_IF_ERROR(ParseXmlResponse(body, &j));
//   // <KMS><KeyId>k</KeyId><Keys><Key><KeyId>a</KeyId></Key><Key>..</Key></Keys></KMS>
//   //   -> {"KeyId":"k","Keys":{"Key":[{"KeyId":"a"},{..}]}}
//
// Contract:
// - The root element's name is not interpreted (<KMS> in the API reference, <Error> for errors).
//   An element with child elements becomes an object, one without becomes a string (its text,
//   entities decoded); a name repeated among siblings becomes an array. Every value is a string
//   (the XML carries no types: TotalCount is "3").
// - Refused (DataLoss "malformed KMS response"): anything expat rejects, a DOCTYPE (no entity
//   expansion at all), attributes, text beside child elements, nesting deeper than
//   kMaxXmlDepth. The caller bounds the body (RemoteKeyProvider: kMaxResponseBodySize).
// - Secrets: a Plaintext passes through expat's buffers; the parser is created with an
//   allocator that wipes every block before freeing it, and all text lives in WipedString.
// - Thread safe (no shared state).
#ifndef KMS_ENVELOPE_KMS_API_XML_RESPONSE_H_
#define KMS_ENVELOPE_KMS_API_XML_RESPONSE_H_

#include <cstddef>
#include <map>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "kms_envelope/kms_api/wiped_json.h"

namespace kms_envelope {
namespace kms_api {

inline constexpr size_t kMaxXmlDepth = 16;

// True when `body` looks like XML (its first non-blank byte is '<').
bool LooksLikeXml(std::string_view body);

[[nodiscard]] absl::Status ParseXmlResponse(std::string_view body, WipedJson* out);

// Appends the XML declaration and `result` as the element `root` (<KMS> for a success document,
// <Error> for an error, as in the API reference): an object's members become child elements in
// order, an array under a name becomes that element repeated, strings are escaped, other values
// are written as their JSON text. ParseXmlResponse reads it back (every value as a string).
void RenderXmlResponse(std::string_view root, const WipedJson& result, WipedString* out);

}  // namespace kms_api
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_KMS_API_XML_RESPONSE_H_
