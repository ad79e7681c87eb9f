// A decryptor written from docs/format.md alone (no envelope code: raw byte offsets, libsodium
// and OpenSSL directly), checked against messages the library seals. If the document and the
// code ever disagree, this test fails.
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <sodium.h>

#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kms_envelope/envelope/envelope.h"
#include "kms_envelope/testing/test_bytes.h"
#include "tests/envelope/envelope_test_util.h"

namespace kms_envelope {
namespace {

using Bytes = std::vector<uint8_t>;

uint32_t U32(const std::string& s, size_t at) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data()) + at;
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

void PutU64(Bytes& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

Bytes Hkdf(const Bytes& ikm, const Bytes& salt, const std::string& label, uint8_t suite) {
  Bytes info(label.begin(), label.end());
  info.push_back(suite);
  Bytes out(32);
  EXPECT_TRUE(kms_envelope::testing::HkdfSha256(ikm, salt, info, absl::MakeSpan(out)).ok());
  return out;
}

// Version 2 key schedule per docs/format.md, through OpenSSL's SP 800-56C one-step KDF:
// payload key || commitment = SSKDF-SHA256(z = data key, info = label || suite || message id).
Bytes OneStepKdf(const Bytes& data_key, uint8_t suite, const Bytes& id) {
  std::string label = "kms-envelope/v2/keys";
  Bytes info(label.begin(), label.end());
  info.push_back(suite);
  info.insert(info.end(), id.begin(), id.end());
  Bytes z = data_key, out(64);
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, z.data(), z.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), info.size()),
      OSSL_PARAM_construct_end()};
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "SSKDF", nullptr);
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EXPECT_EQ(EVP_KDF_derive(ctx, out.data(), out.size(), params), 1);
  EVP_KDF_CTX_free(ctx);
  EVP_KDF_free(kdf);
  return out;
}

// AEAD decrypt per §2; returns false on authentication failure.
bool AeadOpen(uint8_t suite, const Bytes& key, const Bytes& nonce, const Bytes& aad,
              const uint8_t* ct, size_t ct_len, Bytes* out) {
  if (ct_len < 16) return false;
  out->assign(ct_len - 16, 0);
  if (suite == 2) {
    unsigned long long n = 0;
    return crypto_aead_xchacha20poly1305_ietf_decrypt(out->data(), &n, nullptr, ct, ct_len,
                                                      aad.data(), aad.size(), nonce.data(),
                                                      key.data()) == 0;
  }
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  uint8_t final_block[16];
  bool ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) == 1 &&
            EVP_DecryptInit_ex(ctx, nullptr, nullptr, key.data(), nonce.data()) == 1 &&
            EVP_DecryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) == 1 &&
            (ct_len == 16 || EVP_DecryptUpdate(ctx, out->data(), &len, ct,
                                               static_cast<int>(ct_len - 16)) == 1) &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16,
                                const_cast<uint8_t*>(ct + ct_len - 16)) == 1 &&
            EVP_DecryptFinal_ex(ctx, final_block, &len) == 1;  // GCM emits nothing here
  EVP_CIPHER_CTX_free(ctx);
  return ok;
}

// Decrypts per docs/format.md §6 using `kms` for the Decrypt call. Returns "" + false on failure.
bool IndependentOpen(const std::string& m, KeyProvider& kms, std::string* plaintext) {
  if (m.size() < 46 || m.compare(0, 4, "KMSE") != 0 || (m[4] != 1 && m[4] != 2)) return false;
  const uint8_t version = static_cast<uint8_t>(m[4]);
  const uint8_t suite = static_cast<uint8_t>(m[5]);
  const uint32_t f = U32(m, 6);
  const Bytes id(m.begin() + 10, m.begin() + 42);
  const uint32_t n = U32(m, 42);
  size_t pos = 46;
  std::string blob;
  for (uint32_t k = 0; k < n; ++k) {
    for (int field = 0; field < 4; ++field) {
      uint32_t len = U32(m, pos);
      if (field == 3 && k == 0) blob = m.substr(pos + 4, len);
      pos += 4 + len;
    }
  }
  const uint32_t c = U32(m, pos);
  const std::string canonical = m.substr(pos + 4, c);
  pos += 4 + c;
  const Bytes commitment(m.begin() + pos, m.begin() + pos + 32);
  const size_t body_end = pos + 32;
  const Bytes tag(m.begin() + body_end, m.begin() + body_end + 16);
  const size_t header_size = body_end + 16;

  auto ctx = EncryptionContext::FromCanonical(
      absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(canonical.data()), canonical.size()));
  if (!ctx.ok()) return false;
  DecryptRequest req;
  req.ciphertext_blob =
      absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(blob.data()), blob.size());
  req.encryption_context = &*ctx;
  auto dk = kms.Decrypt(req);
  if (!dk.ok()) return false;
  Bytes data_key(dk->plaintext.data(), dk->plaintext.data() + dk->plaintext.size());
  Bytes payload_key, my_commitment;
  if (version == 1) {
    payload_key = Hkdf(data_key, id, "kms-envelope/v1/payload-key", suite);
    my_commitment = Hkdf(data_key, id, "kms-envelope/v1/key-commitment", suite);
  } else {
    const Bytes keys = OneStepKdf(data_key, suite, id);
    payload_key.assign(keys.begin(), keys.begin() + 32);
    my_commitment.assign(keys.begin() + 32, keys.end());
  }
  if (my_commitment != commitment) return false;

  const size_t nonce_size = suite == 1 ? 12 : 24;
  auto nonce = [&](uint64_t counter) {
    Bytes out(id.begin(), id.begin() + (nonce_size - 8));
    PutU64(out, counter);
    return out;
  };
  // Header tag: AEAD over the header body with an empty plaintext.
  Bytes body(m.begin(), m.begin() + body_end);
  Bytes tag_as_ct = tag;
  Bytes empty;
  if (!AeadOpen(suite, payload_key, nonce(0), body, tag_as_ct.data(), 16, &empty)) return false;

  const size_t payload = m.size() - header_size;
  const size_t frames = payload / (f + 16) + 1;
  if (payload % (f + 16) < 16) return false;
  plaintext->clear();
  size_t at = header_size;
  for (size_t i = 0; i < frames; ++i) {
    const bool final_frame = i + 1 == frames;
    const size_t len = final_frame ? m.size() - at : f + 16;
    Bytes aad = id;
    PutU64(aad, i);
    aad.push_back(final_frame ? 1 : 0);
    Bytes out;
    if (!AeadOpen(suite, payload_key, nonce(i + 1), aad,
                  reinterpret_cast<const uint8_t*>(m.data()) + at, len, &out)) {
      return false;
    }
    plaintext->append(out.begin(), out.end());
    at += len;
  }
  return true;
}

TEST(IndependentDecryptor, OpensWhatTheLibrarySealsFollowingTheDocumentOnly) {
  auto kms = envelope_test::NewTestKms();
  ASSERT_TRUE(kms.ok()) << kms.status();
  auto ctx = *EncryptionContext::FromPairs({{"b", "2"}, {"a", "1"}});
  for (auto suite : {envelope::Suite::kAes256GcmHkdfSha256Committing,
                     envelope::Suite::kXChaCha20Poly1305HkdfSha256Committing}) {
    envelope::EnvelopeOptions o;
    o.suite = suite;
    o.frame_size = 64;
    o.primary = {kms->provider, kms->key_id};
    auto env = *envelope::Envelope::New(std::move(o));
    for (size_t size : {0, 1, 63, 64, 65, 1000}) {
      const std::string pt = envelope_test::TestPlaintext(size);
      auto sealed = env->Seal(pt, ctx);
      ASSERT_TRUE(sealed.ok());
      EXPECT_EQ((*sealed)[4], 2) << "the library writes format version 2";
      std::string out;
      ASSERT_TRUE(IndependentOpen(*sealed, *kms->provider, &out)) << size;
      EXPECT_EQ(out, pt);
      std::string bad = *sealed;
      bad.back() ^= 1;
      EXPECT_FALSE(IndependentOpen(bad, *kms->provider, &out));
    }
  }
}

}  // namespace
}  // namespace kms_envelope
