// Writes the golden envelope messages of tests/vectors/ (run once; see README.md there):
//   bazel run //tests/vectors:generate_golden -- "$PWD/tests/vectors"
// Creates <out>/keystore (a fresh local key store with one CMK, TEST-ONLY), then seals the
// deterministic plaintext of each size under both suites with a 4096-byte frame.
#include <cstdio>
#include <fstream>
#include <filesystem>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

#include "kms_envelope/encryption_context.h"
#include "kms_envelope/envelope/envelope.h"
#include "kms_envelope/local/local_key_provider.h"
#include "kms_envelope/local/local_key_store.h"

namespace {

using namespace kms_envelope;

std::string Plaintext(size_t size) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 131 + 7) % 251);
  return s;
}

bool WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  return static_cast<bool>(out);
}

int Fail(const absl::Status& s) {
  std::cerr << "error: " << s << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: generate_golden <tests/vectors directory>\n";
    return 2;
  }
  const std::string out = argv[1];
  const std::string store_dir = out + "/keystore";
  if (std::filesystem::exists(store_dir)) {
    std::cerr << store_dir << " exists: golden vectors are generated once, never regenerated\n";
    return 1;
  }
  local::LocalKeyStoreOptions options;
  options.directory = store_dir;
  auto opened = local::LocalKeyStore::Open(options);
  if (!opened.ok()) return Fail(opened.status());
  std::shared_ptr<local::LocalKeyStore> store = std::move(*opened);
  auto key = store->CreateKey("kms-envelope golden vectors (TEST ONLY, published key)");
  if (!key.ok()) return Fail(key.status());
  auto provider = local::LocalKeyProvider::New(store);
  if (!provider.ok()) return Fail(provider.status());
  std::shared_ptr<KeyProvider> kms = std::move(*provider);

  const std::string context_json =
      absl::StrCat(R"({"format":"v)", envelope::kFormatVersion, R"(","purpose":"golden"})");
  auto context = EncryptionContext::FromJson(context_json);
  if (!context.ok()) return Fail(context.status());

  const uint32_t frame = 4096;
  const size_t sizes[] = {0, 1, frame - 1, frame, frame + 1, size_t{1} << 20};
  nlohmann::json vectors = nlohmann::json::array();
  for (size_t size : sizes) {
    const std::string plain_name = "plaintext_" + std::to_string(size) + ".bin";
    if (!WriteFile(out + "/" + plain_name, Plaintext(size))) return 1;
    for (auto suite : {envelope::Suite::kAes256GcmHkdfSha256Committing,
                       envelope::Suite::kXChaCha20Poly1305HkdfSha256Committing}) {
      envelope::EnvelopeOptions o;
      o.suite = suite;
      o.frame_size = frame;
      o.primary = {kms, key->key_id};
      auto env = envelope::Envelope::New(std::move(o));
      if (!env.ok()) return Fail(env.status());
      auto sealed = (*env)->Seal(Plaintext(size), *context);
      if (!sealed.ok()) return Fail(sealed.status());
      const std::string name =
          std::string(envelope::SuiteName(suite)) + "_" + std::to_string(size) + ".kmse";
      if (!WriteFile(out + "/" + name, *sealed)) return 1;
      vectors.push_back({{"suite", std::string(envelope::SuiteName(suite))},
                         {"size", size},
                         {"frame_size", frame},
                         {"sealed", name},
                         {"plaintext", plain_name}});
    }
  }
  nlohmann::json manifest = {
      {"format_version", envelope::kFormatVersion},
      {"key_store", "keystore"},
      {"key_id", key->key_id},
      {"encryption_context", nlohmann::json::parse(context_json)},
      {"plaintext_generator", "byte i = (i * 131 + 7) mod 251"},
      {"vectors", vectors}};
  if (!WriteFile(out + "/manifest.json", manifest.dump(2) + "\n")) return 1;
  std::cout << "wrote " << vectors.size() << " golden messages to " << out << "\n";
  return 0;
}
