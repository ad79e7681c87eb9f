// docs/store-format.md's Argon2id parameters, checked against the reference Argon2
// implementation (libargon2, not libsodium): the root key it derives from the passphrase and the
// header's salt and limits opens the store file.
#include <dlfcn.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#include "gtest/gtest.h"
#include "kms_envelope/testing/test_bytes.h"
#include "kms_envelope/local/local_key_store.h"
#include "kms_envelope/local/root_key.h"
#include "sodium.h"
#include "tests/local/test_util.h"

namespace kms_envelope {
namespace local {
namespace {

// libargon2's argon2id_hash_raw(t_cost, m_cost KiB, parallelism, pwd, pwdlen, salt, saltlen,
// hash, hashlen); 0 = ARGON2_OK.
using Argon2idHashRaw = int (*)(uint32_t, uint32_t, uint32_t, const void*, size_t, const void*,
                                size_t, void*, size_t);

TEST(Argon2Reference, TheDocumentedParametersDeriveTheRootKeyThatOpensTheStore) {
  void* lib = ::dlopen("libargon2.so.1", RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(lib, nullptr) << "libargon2-1 (scripts/setup.sh) is required: " << ::dlerror();
  auto hash = reinterpret_cast<Argon2idHashRaw>(::dlsym(lib, "argon2id_hash_raw"));
  ASSERT_NE(hash, nullptr);

  const std::string dir = testing::TestDir("argon2_reference");
  const std::string passphrase = "correct horse battery staple";
  {
    LocalKeyStoreOptions options;
    options.directory = dir;
    options.passphrase = passphrase;
    auto store = LocalKeyStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->CreateKey("argon2").ok());
  }
  std::ifstream in(dir + "/keystore.bin", std::ios::binary);
  const std::string file(std::istreambuf_iterator<char>(in), {});
  ASSERT_GT(file.size(), 88u);
  const auto* h = reinterpret_cast<const uint8_t*>(file.data());
  ASSERT_EQ(h[10], 2) << "root key kind: Argon2id passphrase";
  const uint64_t opslimit = kms_envelope::testing::LoadBigEndian64(h + 12);
  const uint64_t memlimit = kms_envelope::testing::LoadBigEndian64(h + 20);
  EXPECT_EQ(opslimit, kArgon2OpsLimit);
  EXPECT_EQ(memlimit, uint64_t{67108864});

  // t = opslimit, m = memlimit / 1024 KiB, p = 1, 32-byte tag, salt = header[28, 44).
  uint8_t root[32];
  ASSERT_EQ(hash(static_cast<uint32_t>(opslimit), static_cast<uint32_t>(memlimit / 1024), 1,
                 passphrase.data(), passphrase.size(), h + 28, 16, root, sizeof(root)),
            0);
  // XChaCha20-Poly1305(root, nonce = header[44, 68), AAD = header[0, 72)).
  const size_t sealed = file.size() - 72;
  std::string plain(sealed - 16, '\0');
  unsigned long long plain_size = 0;
  const int opened = crypto_aead_xchacha20poly1305_ietf_decrypt(
      reinterpret_cast<uint8_t*>(plain.data()), &plain_size, nullptr, h + 72, sealed, h, 72,
      h + 44, root);
  sodium_memzero(root, sizeof(root));
  ASSERT_EQ(opened, 0) << "the reference Argon2id with the documented parameters gave another key";
  EXPECT_NE(plain.find("\"FormatVersion\":2"), std::string::npos);
  sodium_memzero(plain.data(), plain.size());
  ::dlclose(lib);
}

}  // namespace
}  // namespace local
}  // namespace kms_envelope
