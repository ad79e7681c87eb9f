// Writes the seed corpora of the fuzz targets under <out>/corpus/. Messages and blobs are sealed
// under the fixed TEST-ONLY local KMS of fuzz_store.h, so they open in every later run.
//
//   bazel run //fuzz:make_corpus -- "$PWD/fuzz"
//
// Seeds are real messages: headers as the sealer writes them (one and several wrapped keys, both
// suites, empty and large contexts), sealed messages and CiphertextBlobs, key store files as
// LocalKeyStore writes them, encryption contexts in JSON and canonical form. They are
// small (the whole of fuzz/corpus stays far below 2 MiB); libFuzzer mutates from there.
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "fuzz/fuzz_store.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/envelope/envelope.h"
#include "kms_envelope/envelope/format.h"
#include "kms_envelope/internal/aead.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/local/ciphertext_blob.h"
#include "kms_envelope/local/local_key_store.h"

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

template <typename T>
T Must(absl::StatusOr<T> v, const char* what) {
  if (!v.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, v.status().ToString().c_str());
    std::exit(1);
  }
  return *std::move(v);
}

std::string Body(size_t n, uint8_t seed) {
  std::string b(n, '\0');
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<char>((i * 131 + seed) % 251);
  return b;
}

// Blobs for blob_fuzzer: through the provider (primary versions) and sealed directly under the
// fixture's material (the old version of the enabled key, the disabled key).
void BlobSeeds(const std::shared_ptr<kms_envelope::local::LocalKeyProvider>& provider) {
  namespace fz = kms_envelope::fuzz;
  const std::string p32 = fz::SelfCheckingPlaintext(Body(16, 1));
  struct Seed { const char* name; std::string_view key; std::string plaintext; };
  for (const Seed& seed : {Seed{"enabled_primary_32", fz::kEnabledKeyId, p32},
                           Seed{"alias_100", fz::kAlias, fz::SelfCheckingPlaintext(Body(84, 2))},
                           Seed{"second_key_17", fz::kSecondKeyId, fz::SelfCheckingPlaintext("x")}}) {
    kms_envelope::EncryptRequest req;
    req.key_id = seed.key;
    req.plaintext = kms_envelope::internal::Bytes(seed.plaintext);
    req.encryption_context = &fz::SeedContext();
    Write("blob_fuzzer", seed.name, Must(provider->Encrypt(req), "Encrypt").ciphertext_blob);
  }
  // Material(seed) as in fuzz_store.cc: byte i = seed + 17 i.
  auto direct = [&](const char* name, std::string_view version, uint8_t material_seed) {
    std::string raw(32, '\0');
    for (size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<char>(material_seed + 17 * i);
    auto key = Must(kms_envelope::internal::AeadKey::New(
                        kms_envelope::internal::AeadAlgorithm::kAes256Gcm,
                        kms_envelope::internal::Bytes(raw)),
                    "AeadKey");
    uint8_t iv[kms_envelope::local::kBlobIvSize];
    for (size_t i = 0; i < sizeof(iv); ++i) iv[i] = static_cast<uint8_t>(0x70 + i);
    std::string blob;
    if (!kms_envelope::local::SealCiphertextBlob(key, version, kms_envelope::internal::Bytes(p32),
                                                 absl::MakeConstSpan(iv), fz::SeedContext(), &blob)
             .ok()) {
      std::fprintf(stderr, "SealCiphertextBlob failed\n");
      std::exit(1);
    }
    Write("blob_fuzzer", name, blob);
  };
  direct("enabled_old_version_32", fz::kEnabledKeyOldVersion, 1);
  direct("disabled_key_32", fz::kDisabledKeyVersion, 4);
}

// Sealed messages for open_fuzzer (and a few more headers for header_fuzzer).
void OpenSeeds(const std::shared_ptr<kms_envelope::local::LocalKeyProvider>& provider) {
  namespace fz = kms_envelope::fuzz;
  using env::Envelope;
  auto make = [&](std::string_view primary, std::vector<std::string_view> additional,
                  env::Suite suite, uint32_t frame) {
    env::EnvelopeOptions o;
    o.primary = {provider, std::string(primary)};
    for (std::string_view a : additional) o.additional.push_back({provider, std::string(a)});
    o.suite = suite;
    o.frame_size = frame;
    return Must(Envelope::New(std::move(o)), "Envelope::New");
  };
  const auto aes = env::Suite::kAes256GcmHkdfSha256Committing;
  const auto xchacha = env::Suite::kXChaCha20Poly1305HkdfSha256Committing;
  auto seal = [&](const char* name, const std::unique_ptr<Envelope>& e, std::string_view plaintext,
                  const EncryptionContext& ctx) {
    std::string sealed = Must(e->Seal(plaintext, ctx), "Seal");
    Write("open_fuzzer", name, sealed);
    return sealed;
  };
  auto one = make(fz::kAlias, {}, aes, env::kMinFrameSize);
  seal("aes_empty", one, "", fz::SeedContext());
  seal("aes_16_one_frame", one, fz::SelfCheckingPlaintext(""), fz::SeedContext());
  seal("aes_64_two_frames", one, fz::SelfCheckingPlaintext(Body(48, 3)), fz::SeedContext());
  seal("aes_300_five_frames", one, fz::SelfCheckingPlaintext(Body(284, 4)), fz::SeedContext());
  auto two = make(fz::kEnabledKeyId, {fz::kSecondKeyId}, xchacha, 128);
  const std::string both = seal("xchacha_two_keys_200", two,
                                fz::SelfCheckingPlaintext(Body(184, 5)), fz::SeedContext());
  Write("header_fuzzer", "real_xchacha_two_keys", both);
  auto second = make(fz::kSecondKeyId, {}, aes, 4096);
  seal("aes_second_key_only", second, fz::SelfCheckingPlaintext(Body(40, 6)), fz::SeedContext());
  // Another context: opens only through the streaming path (context from the header).
  const EncryptionContext other = Ctx({{"other", "context"}});
  const std::string o = seal("aes_other_context", one, fz::SelfCheckingPlaintext(Body(70, 7)), other);
  Write("header_fuzzer", "real_aes_other_context", o);
}

// keystore.bin variants for store_fuzzer (first byte: 0 raw file, 1 document to seal).
void StoreSeeds() {
  namespace fz = kms_envelope::fuzz;
  Write("store_fuzzer", "document_fixed", "\x01" + fz::StoreDocument());
  Write("store_fuzzer", "document_empty",
        std::string("\x01") + R"({"FormatVersion":1,"Keys":[],"Aliases":[]})");
  Write("store_fuzzer", "file_fixed", std::string(1, '\0') + fz::SealStoreFile(fz::StoreDocument()));
  // A file as LocalKeyStore itself writes it, after a rotation, a new key and a state change.
  const std::string dir = fz::MakeFixedStoreDir();
  kms_envelope::local::LocalKeyStoreOptions options;
  options.directory = dir;
  auto store = Must(kms_envelope::local::LocalKeyStore::Open(options), "LocalKeyStore::Open");
  Must(store->RotateKey(fz::kSecondKeyId), "RotateKey");
  auto created = Must(store->CreateKey("created by make_corpus"), "CreateKey");
  if (!store->CreateAlias("alias/made", created.key_id).ok()) std::exit(1);
  Must(store->ScheduleKeyDeletion(created.key_id, 7), "ScheduleKeyDeletion");
  std::ifstream f(dir + "/keystore.bin", std::ios::binary);
  std::string file((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  Write("store_fuzzer", "file_written_by_store", std::string(1, '\0') + file);
}

// Requests for server_request_fuzzer (first byte: 0 raw HTTP, 1 unsigned form body, 2 signed
// parameters one per line).
void ServerSeeds(const std::shared_ptr<kms_envelope::local::LocalKeyProvider>& provider) {
  namespace fz = kms_envelope::fuzz;
  const std::string ctx = fz::SeedContext().ToJson();
  kms_envelope::EncryptRequest req;
  req.key_id = fz::kEnabledKeyId;
  const std::string p = fz::SelfCheckingPlaintext(Body(16, 9));
  req.plaintext = kms_envelope::internal::Bytes(p);
  req.encryption_context = &fz::SeedContext();
  const std::string blob = kms_envelope::internal::Base64Encode(
      Must(provider->Encrypt(req), "Encrypt").ciphertext_blob);
  auto w = [](const char* name, const std::string& s) { Write("server_request_fuzzer", name, s); };
  w("signed_generate_data_key", "\x02" "Action=GenerateDataKey\nKeyId=alias/fuzz\nNumberOfBytes=32\n"
                                "EncryptionContext=" + ctx);
  w("signed_decrypt", "\x02" "Action=Decrypt\nCiphertextBlob=" + blob + "\nEncryptionContext=" + ctx);
  w("signed_describe_xml", "\x02" "Action=DescribeKey\nKeyId=" + std::string(fz::kSecondKeyId) +
                               "\nFormat=XML");
  w("signed_encrypt", "\x02" "Action=Encrypt\nKeyId=alias/fuzz\nPlaintext=aGVsbG8=");
  w("signed_list_keys", "\x02" "Action=ListKeys\nPageSize=2\nPageNumber=2");
  w("signed_unknown_action", "\x02" "Action=Nope");
  w("signed_duplicate", "\x02" "Action=GenerateDataKey\nKeyId=alias/fuzz\nKeyId=alias/fuzz");
  w("unsigned_form", "\x01" "Action=GenerateDataKey&KeyId=alias%2Ffuzz&AccessKeyId=fuzz-access-key"
                     "&Signature=AAAA&SignatureNonce=1&Timestamp=2026-11-29T00%3A00%3A00Z"
                     "&SignatureMethod=HMAC-SHA1");
  w("unsigned_bad_percent", "\x01" "Action=Decrypt&CiphertextBlob=%G0%&x=%2");
  w("raw_get", std::string("\x00") + "GET /?Action=ListKeys&Format=JSON HTTP/1.1\r\nHost: x\r\n"
                                      "Connection: close\r\n\r\n");
  w("raw_chunked", std::string("\x00") + "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                                          "chunked\r\n\r\n5\r\nAction\r\n0\r\n\r\n");
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
  auto provider = kms_envelope::fuzz::OpenProvider(kms_envelope::fuzz::MakeFixedStoreDir());
  BlobSeeds(provider);
  OpenSeeds(provider);
  StoreSeeds();
  ServerSeeds(provider);
  std::printf("corpora written under %s/corpus\n", g_out.c_str());
  return 0;
}
