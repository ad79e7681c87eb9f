// Fuzz target: the key store file format on its own (kms_envelope/local/store_file.h), without
// files or locks, so every execution reaches the parser: header fields, bounds, the length
// field, authentication, and the document behind it.
//
// Input (the store_fuzzer convention): the first byte picks the mode, the rest is
//   even: keystore.bin bytes, parsed and (when the header parses) opened under the fixed
//         TEST-ONLY root key (fuzz_store.h);
//   odd:  a JSON document, sealed by SealStoreFile under that key first, so the document
//         parser is reached with authentic files.
// Invariants:
// - ParseStoreFile never crashes, and fails only with DataLoss.
// - A parsed header re-encodes to exactly the header bytes (no field is dropped or guessed),
//   and the views cover the whole file.
// - Sealing then parsing and opening gives back the sealed document, with the current format
//   version and the given KDF parameters.
// - A document that authenticates parses or fails with DataLoss; one that parses serializes
//   to a document that parses again to the same keys, versions and aliases.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_store.h"
#include "kms_envelope/internal/aead.h"
#include "kms_envelope/local/store_document.h"
#include "kms_envelope/local/store_file.h"
#include "kms_envelope/local/store_state.h"

namespace {

using namespace kms_envelope;  // NOLINT: a fuzz target, not library code
using local::State;

const internal::AeadKey& Root() {
  static const internal::AeadKey* root = [] {
    auto key = internal::AeadKey::New(internal::AeadAlgorithm::kXChaCha20Poly1305, fuzz::RootKey());
    FUZZ_CHECK(key.ok());
    return new internal::AeadKey(*std::move(key));
  }();
  return *root;
}

bool SameState(const State& a, const State& b) {
  if (a.key_order != b.key_order || a.aliases != b.aliases) return false;
  for (const std::string& id : a.key_order) {
    const local::KeyRecord& x = a.keys.at(id);
    const local::KeyRecord& y = b.keys.at(id);
    if (x.state != y.state || x.description != y.description || x.primary != y.primary ||
        x.automatic_rotation != y.automatic_rotation || x.versions.size() != y.versions.size()) {
      return false;
    }
    for (size_t i = 0; i < x.versions.size(); ++i) {
      if (x.versions[i].id != y.versions[i].id ||
          x.versions[i].wraps_reserved != y.versions[i].wraps_reserved ||
          !x.versions[i].key->material.ConstantTimeEquals(y.versions[i].key->material)) {
        return false;
      }
    }
  }
  return true;
}

void CheckDocument(const SecretBytes& document) {
  auto state = local::ParseDocument(document.span(), nullptr);
  if (!state.ok()) {
    FUZZ_CHECK(state.status().code() == absl::StatusCode::kDataLoss);
    return;
  }
  auto text = local::SerializeDocument(**state);
  FUZZ_CHECK(text.ok());
  auto again = local::ParseDocument(text->span(), state->get());
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(SameState(**state, **again));
}

int g_opened = 0;  // inputs that authenticated (KmsFuzzReplayCheck)

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const absl::Span<const uint8_t> rest(data + 1, size - 1);
  std::vector<uint8_t> file(rest.begin(), rest.end());
  if (data[0] & 1) {
    local::KdfParams kdf;
    if (!rest.empty()) kdf.opslimit = rest[0];  // any values: only recorded and authenticated
    auto sealed = local::SealStoreFile(Root(), kdf, rest);
    FUZZ_CHECK(sealed.ok());
    auto view = local::ParseStoreFile(*sealed);
    FUZZ_CHECK(view.ok());
    FUZZ_CHECK(view->header.format_version == local::kStoreFormatVersion);
    FUZZ_CHECK(view->header.kdf == kdf);
    auto opened = local::OpenStoreFile(Root(), *view);
    FUZZ_CHECK(opened.ok());
    FUZZ_CHECK(opened->size() == rest.size() &&
               (rest.empty() || std::memcmp(opened->data(), rest.data(), rest.size()) == 0));
    file = *std::move(sealed);
  }
  auto view = local::ParseStoreFile(file);
  if (!view.ok()) {
    FUZZ_CHECK(view.status().code() == absl::StatusCode::kDataLoss);
    return 0;
  }
  FUZZ_CHECK(view->header_bytes.size() == local::kStoreHeaderSize);
  FUZZ_CHECK(view->header_bytes.data() == file.data());
  FUZZ_CHECK(view->sealed.size() == view->header.sealed_size);
  FUZZ_CHECK(view->header_bytes.size() + view->sealed.size() == file.size());
  uint8_t encoded[local::kStoreHeaderSize];
  local::EncodeStoreHeader(view->header, absl::MakeSpan(encoded));
  FUZZ_CHECK(std::memcmp(encoded, file.data(), local::kStoreHeaderSize) == 0);

  auto document = local::OpenStoreFile(Root(), *view);
  if (!document.ok()) {
    FUZZ_CHECK(document.status().code() == absl::StatusCode::kDataLoss);
    return 0;
  }
  ++g_opened;
  CheckDocument(*document);
  return 0;
}

extern "C" int KmsFuzzReplayCheck() {
  if (g_opened >= 3) return 0;
  std::fprintf(stderr, "only %d seeds authenticated (expected at least 3)\n", g_opened);
  return 1;
}
