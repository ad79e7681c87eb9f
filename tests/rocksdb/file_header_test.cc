#include "kms_envelope/rocksdb/file_header.h"

#include <string>

#include "gtest/gtest.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace rocksdb_encryption {
namespace {

absl::Span<const uint8_t> Span(const std::string& s) {
  return absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

SecretBytes Key(uint8_t fill) {
  SecretBytes key = SecretBytes::New(32).value();
  for (auto& b : key.mutable_span()) b = fill;
  return key;
}

FileHeader SampleHeader() {
  FileHeader h;
  h.cipher = FileCipherId::kXChaCha20;
  h.generation = 7;
  for (size_t i = 0; i < h.file_salt.size(); ++i) h.file_salt[i] = static_cast<uint8_t>(i);
  h.provider_id = "local";
  h.key_id = "key-guid";
  h.key_version_id = "version-guid";
  h.ciphertext_blob = std::string(96, '\x5a');
  return h;
}

TEST(FileHeader, RoundTripsEveryFieldAndVerifiesUnderTheRightKey) {
  SecretBytes mac = Key(1);
  std::string slot = SerializeFileHeaderSlot(SampleHeader(), mac).value();
  ASSERT_EQ(slot.size(), kFileHeaderSlotSize);
  EXPECT_TRUE(HasFileHeaderMagic(Span(slot)));
  auto parsed = ParseFileHeaderSlot(Span(slot));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const FileHeader& h = parsed->header;
  EXPECT_EQ(h.cipher, FileCipherId::kXChaCha20);
  EXPECT_EQ(h.generation, 7u);
  EXPECT_EQ(h.file_salt, SampleHeader().file_salt);
  EXPECT_EQ(h.provider_id, "local");
  EXPECT_EQ(h.key_id, "key-guid");
  EXPECT_EQ(h.key_version_id, "version-guid");
  EXPECT_EQ(h.ciphertext_blob, std::string(96, '\x5a'));
  EXPECT_TRUE(VerifyFileHeaderSlot(*parsed, mac).ok());
  absl::Status wrong = VerifyFileHeaderSlot(*parsed, Key(2));
  EXPECT_EQ(GetKmsErrorCode(wrong), kms_code::kInvalidCiphertext);
  EXPECT_NE(std::string(wrong.message()).find("authentication failed"), std::string::npos);
}

TEST(FileHeader, DetectsAChangeToAnyAuthenticatedOrPaddingByte) {
  SecretBytes mac = Key(3);
  const std::string slot = SerializeFileHeaderSlot(SampleHeader(), mac).value();
  size_t rejected = 0;
  for (size_t i = 0; i < slot.size(); ++i) {
    std::string bad = slot;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    auto parsed = ParseFileHeaderSlot(Span(bad));
    if (!parsed.ok() || !VerifyFileHeaderSlot(*parsed, mac).ok()) ++rejected;
  }
  EXPECT_EQ(rejected, slot.size());
}

TEST(FileHeader, RefusesOversizedFieldsWhenSerializing) {
  SecretBytes mac = Key(4);
  FileHeader h = SampleHeader();
  h.ciphertext_blob = std::string(kMaxFileHeaderBlobSize + 1, 'x');
  EXPECT_EQ(GetKmsErrorCode(SerializeFileHeaderSlot(h, mac).status()), kms_code::kInvalidParameter);
  h = SampleHeader();
  h.provider_id.clear();
  EXPECT_FALSE(SerializeFileHeaderSlot(h, mac).ok());
  h = SampleHeader();
  h.key_id = std::string(kMaxFileHeaderKeyIdSize + 1, 'k');
  EXPECT_FALSE(SerializeFileHeaderSlot(h, mac).ok());
  // The largest legal header still fits in one slot.
  h = SampleHeader();
  h.provider_id = std::string(kMaxFileHeaderProviderIdSize, 'p');
  h.key_id = std::string(kMaxFileHeaderKeyIdSize, 'k');
  h.key_version_id = std::string(kMaxFileHeaderKeyVersionIdSize, 'v');
  h.ciphertext_blob = std::string(kMaxFileHeaderBlobSize, 'b');
  auto slot = SerializeFileHeaderSlot(h, mac);
  ASSERT_TRUE(slot.ok()) << slot.status();
  EXPECT_TRUE(ParseFileHeaderSlot(Span(*slot)).ok());
}

TEST(FileHeader, RefusesMalformedSlotsWithInvalidCiphertext) {
  SecretBytes mac = Key(5);
  const std::string slot = SerializeFileHeaderSlot(SampleHeader(), mac).value();
  // Wrong size.
  EXPECT_FALSE(ParseFileHeaderSlot(Span(slot.substr(0, 100))).ok());
  // Zeroed slot (no magic).
  EXPECT_EQ(GetKmsErrorCode(ParseFileHeaderSlot(Span(std::string(kFileHeaderSlotSize, '\0'))).status()),
            kms_code::kInvalidCiphertext);
  // A body length that points past the slot.
  std::string bad = slot;
  bad[10] = '\x7f';
  bad[11] = '\xff';
  EXPECT_FALSE(ParseFileHeaderSlot(Span(bad)).ok());
  // A blob length larger than the body.
  bad = slot;
  const size_t blob_len_at = kFileHeaderFixedSize + 2 + 5 + 2 + 8 + 2 + 12;
  bad[blob_len_at] = '\x05';
  EXPECT_FALSE(ParseFileHeaderSlot(Span(bad)).ok());
  // Unknown version / cipher.
  bad = slot;
  bad[8] = 2;
  EXPECT_FALSE(ParseFileHeaderSlot(Span(bad)).ok());
  bad = slot;
  bad[9] = 9;
  EXPECT_FALSE(ParseFileHeaderSlot(Span(bad)).ok());
}

TEST(FileHeader, DerivesDistinctKeysPerSaltAndCipher) {
  SecretBytes data_key = Key(9);
  std::array<uint8_t, kFileSaltSize> salt_a{}, salt_b{};
  salt_b[0] = 1;
  auto a = DeriveFileKeys(FileCipherId::kAes256Ctr, data_key, salt_a).value();
  auto b = DeriveFileKeys(FileCipherId::kAes256Ctr, data_key, salt_b).value();
  auto c = DeriveFileKeys(FileCipherId::kXChaCha20, data_key, salt_a).value();
  EXPECT_FALSE(a.stream_key.ConstantTimeEquals(b.stream_key));
  EXPECT_FALSE(a.stream_key.ConstantTimeEquals(c.stream_key));
  EXPECT_FALSE(a.stream_key.ConstantTimeEquals(a.header_mac_key));
  EXPECT_TRUE(a.header_mac_key.ConstantTimeEquals(c.header_mac_key));
  // A data key of the wrong size is refused.
  EXPECT_FALSE(DeriveFileKeys(FileCipherId::kAes256Ctr, SecretBytes::New(16).value(), salt_a).ok());
}

}  // namespace
}  // namespace rocksdb_encryption
}  // namespace kms_envelope
