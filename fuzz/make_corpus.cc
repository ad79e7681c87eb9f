// Writes the seed corpora of the fuzz targets under <out>/corpus/ (and the fixed test key store
// under <out>/testdata/ once kms_envelope/local can open one).
//
//   bazel run //fuzz:make_corpus -- "$PWD/fuzz"
//
// Seeds are real messages: headers as the sealer writes them (one and several wrapped keys, both
// suites, empty and large contexts), encryption contexts in JSON and canonical form. They are
// small (the whole of fuzz/corpus stays far below 2 MiB); libFuzzer mutates from there.
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "kms_envelope/encryption_context.h"
#include "kms_envelope/envelope/format.h"

namespace {

namespace env = kms_envelope::envelope;
using kms_envelope::EncryptionContext;

std::string g_out;

void Write(const std::string& target, const std::string& name, const std::string& bytes) {
  const std::string dir = g_out + "/corpus/" + target;
  mkdir((g_out + "/corpus").c_str(), 0755);
  mkdir(dir.c_str(), 0755);
  std::ofstream f(dir + "/" + name, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) {
    std::fprintf(stderr, "cannot write %s/%s\n", dir.c_str(), name.c_str());
    std::exit(1);
  }
}

EncryptionContext Ctx(const std::vector<std::pair<std::string, std::string>>& pairs) {
  auto c = EncryptionContext::FromPairs(pairs);
  if (!c.ok()) {
    std::fprintf(stderr, "bad context\n");
    std::exit(1);
  }
  return *std::move(c);
}

std::string Str(absl::Span<const uint8_t> s) {
  return std::string(reinterpret_cast<const char*>(s.data()), s.size());
}

void ContextSeeds() {
  const std::vector<std::pair<std::string, std::string>> json = {
      {"empty_string", ""},
      {"empty_object", "{}"},
      {"one", R"({"tenant":"a"})"},
      {"two_unsorted", R"({"purpose":"backup","tenant":"acme"})"},
      {"escapes", R"({"k\u00e9y":"v\"al\\ue\n","":"x"})"},
      {"duplicate", R"({"a":"1","a":"2"})"},
      {"number_value", R"({"a":1})"},
      {"nested", R"({"a":{"b":"c"}})"},
      {"array", R"(["a","b"])"},
      {"bad_utf8", "{\"a\":\"\xff\xfe\"}"},
      {"surrogate", R"({"a":"\ud800"})"},
      {"trailing", R"({"a":"b"} x)"},
  };
  for (const auto& [name, text] : json) Write("context_fuzzer", "json_" + name, text);
  Write("context_fuzzer", "canonical_empty", Str(EncryptionContext::Empty().Canonical()));
  Write("context_fuzzer", "canonical_two",
        Str(Ctx({{"purpose", "backup"}, {"tenant", "acme"}}).Canonical()));
  std::vector<std::pair<std::string, std::string>> many;
  for (int i = 0; i < 64; ++i) many.push_back({"k" + std::to_string(100 + i), std::string(8, 'v')});
  Write("context_fuzzer", "canonical_64_pairs", Str(Ctx(many).Canonical()));
  Write("context_fuzzer", "canonical_max_value",
        Str(Ctx({{std::string(256, 'k'), std::string(4096, 'v')}}).Canonical()));
}

env::MessageHeader Header(env::Suite suite, uint32_t frame_size, int keys,
                          const EncryptionContext& context) {
  env::MessageHeader h;
  h.suite = suite;
  h.frame_size = frame_size;
  for (size_t i = 0; i < h.message_id.size(); ++i) h.message_id[i] = static_cast<uint8_t>(i * 7);
  for (int k = 0; k < keys; ++k) {
    env::WrappedKey w;
    w.provider_id = k == 0 ? "local" : "aliyun-kms";
    w.key_id = "1234abcd-12ab-34cd-56ef-12345678900" + std::to_string(k);
    w.key_version_id = "86a9efd9-3d16-4894-bd4f-1fc43f3f2abf";
    w.ciphertext_blob = w.key_version_id + std::string(72, static_cast<char>(0x40 + k));
    h.wrapped_keys.push_back(std::move(w));
  }
  h.context = context;
  for (size_t i = 0; i < h.commitment.size(); ++i) h.commitment[i] = static_cast<uint8_t>(0xc0 + i);
  for (size_t i = 0; i < h.header_tag.size(); ++i) h.header_tag[i] = static_cast<uint8_t>(0xa0 + i);
  if (!env::ValidateHeader(h).ok()) {
    std::fprintf(stderr, "invalid seed header\n");
    std::exit(1);
  }
  return h;
}

void HeaderSeeds() {
  const EncryptionContext two = Ctx({{"purpose", "backup"}, {"tenant", "acme"}});
  Write("header_fuzzer", "aes_one_key_empty_ctx",
        env::SerializeHeader(Header(env::Suite::kAes256GcmHkdfSha256Committing, 4096, 1,
                                    EncryptionContext::Empty())));
  // A header followed by a payload of one empty final frame (a 0-byte plaintext).
  Write("header_fuzzer", "xchacha_two_keys_ctx_payload",
        env::SerializeHeader(Header(env::Suite::kXChaCha20Poly1305HkdfSha256Committing,
                                    env::kMinFrameSize, 2, two)) +
            std::string(env::kFrameTagSize, '\x5a'));
  Write("header_fuzzer", "aes_sixteen_keys",
        env::SerializeHeader(Header(env::Suite::kAes256GcmHkdfSha256Committing,
                                    env::kMaxFrameSize, 16, two)));
  // A header cut in the middle (the truncated path).
  const std::string h = env::SerializeHeader(
      Header(env::Suite::kAes256GcmHkdfSha256Committing, 65536, 1, two));
  Write("header_fuzzer", "truncated", h.substr(0, h.size() / 2));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus <fuzz directory>\n");
    return 2;
  }
  g_out = argv[1];
  ContextSeeds();
  HeaderSeeds();
  std::printf("corpora written under %s/corpus\n", g_out.c_str());
  return 0;
}
