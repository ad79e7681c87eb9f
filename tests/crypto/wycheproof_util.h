// Test helpers for reading Wycheproof vector files from runfiles (third_party/wycheproof/).
#ifndef KMS_ENVELOPE_TESTS_CRYPTO_WYCHEPROOF_UTIL_H_
#define KMS_ENVELOPE_TESTS_CRYPTO_WYCHEPROOF_UTIL_H_

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kms_envelope/internal/encoding.h"
#include "nlohmann/json.hpp"

namespace kms_envelope {
namespace testing_wycheproof {

// Parses third_party/wycheproof/<name>; a discarded json (is_discarded()) on any failure.
inline nlohmann::json LoadVectors(const std::string& name) {
  std::ifstream in("third_party/wycheproof/" + name, std::ios::binary);
  if (!in) return nlohmann::json(nlohmann::json::value_t::discarded);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return nlohmann::json::parse(buffer.str(), nullptr, /*allow_exceptions=*/false);
}

// Hex field -> bytes; ADD_FAILURE on malformed hex so a broken file cannot pass silently.
inline std::vector<uint8_t> Hex(const nlohmann::json& field) {
  absl::StatusOr<std::string> raw = internal::HexDecode(field.get<std::string>());
  if (!raw.ok()) {
    ADD_FAILURE() << "bad hex in vector file: " << raw.status();
    return {};
  }
  return std::vector<uint8_t>(raw->begin(), raw->end());
}

}  // namespace testing_wycheproof
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_TESTS_CRYPTO_WYCHEPROOF_UTIL_H_
