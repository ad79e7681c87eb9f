#include "kms_envelope/envelope/header_json.h"

#include <string>

#include <nlohmann/json.hpp>

#include "absl/types/span.h"
#include "kms_envelope/internal/encoding.h"

namespace kms_envelope {
namespace envelope {

std::string HeaderJson(const ParsedHeader& parsed, uint64_t sealed_size) {
  const MessageHeader& h = parsed.header;
  nlohmann::json keys = nlohmann::json::array();
  for (const auto& k : h.wrapped_keys) {
    keys.push_back({{"ProviderId", k.provider_id},
                    {"KeyId", k.key_id},
                    {"KeyVersionId", k.key_version_id},
                    {"CiphertextBlob", internal::Base64Encode(k.ciphertext_blob)}});
  }
  nlohmann::json context = nlohmann::json::object();
  for (const auto& [k, v] : h.context.pairs()) context[k] = v;
  nlohmann::json out = {{"FormatVersion", h.version},
                        {"Suite", std::string(SuiteName(h.suite))},
                        {"FrameSize", h.frame_size},
                        {"MessageId", internal::HexEncode(absl::MakeConstSpan(h.message_id))},
                        {"WrappedKeys", keys},
                        {"EncryptionContext", context},
                        {"HeaderSize", parsed.header_size},
                        {"SealedSize", sealed_size}};
  auto plaintext_size = PlaintextSizeForPayload(sealed_size - parsed.header_size, h.frame_size);
  if (plaintext_size.ok()) {
    out["PlaintextSize"] = *plaintext_size;
    out["Frames"] = FrameCount(*plaintext_size, h.frame_size);
  } else {
    out["PlaintextSize"] = nullptr;
  }
  out["Authenticated"] = false;
  // Context keys and values are arbitrary bytes: never throw on invalid UTF-8.
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace envelope
}  // namespace kms_envelope
