// EncryptionContext: JSON parsing, limits, canonical encoding, FromCanonical, equality.
#include "kms_envelope/encryption_context.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

std::vector<uint8_t> Vec(absl::Span<const uint8_t> s) { return {s.begin(), s.end()}; }

void ExpectInvalidParameter(const absl::Status& s, const std::string& what) {
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << what << ": " << s;
  EXPECT_EQ(GetKmsErrorCode(s), kms_code::kInvalidParameter) << what;
}

TEST(EncryptionContext, ParsesAnObjectOfStrings) {
  absl::StatusOr<EncryptionContext> ctx =
      EncryptionContext::FromJson(R"({"tenant":"a","purpose":"backup"})");
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  EXPECT_EQ(ctx->pairs().size(), 2u);
  EXPECT_EQ(ctx->pairs().at("tenant"), "a");
  EXPECT_EQ(ctx->ToJson(), R"({"purpose":"backup","tenant":"a"})");
}

TEST(EncryptionContext, EmptyInputsAreTheEmptyContext) {
  for (const char* json : {"", "{}", "  ", " { } "}) {
    absl::StatusOr<EncryptionContext> ctx = EncryptionContext::FromJson(json);
    ASSERT_TRUE(ctx.ok()) << json;
    EXPECT_TRUE(ctx->empty());
    EXPECT_EQ(Vec(ctx->Canonical()), (std::vector<uint8_t>{0, 0}));
    EXPECT_EQ(*ctx, EncryptionContext::Empty());
  }
  EXPECT_EQ(Vec(EncryptionContext().Canonical()), (std::vector<uint8_t>{0, 0}));
}

TEST(EncryptionContext, RejectsDuplicateKeys) {
  ExpectInvalidParameter(EncryptionContext::FromJson(R"({"a":"1","a":"2"})").status(), "json");
  ExpectInvalidParameter(EncryptionContext::FromJson(R"({"a":"1","b":"x","a":"1"})").status(),
                         "json same value");
  ExpectInvalidParameter(EncryptionContext::FromPairs({{"a", "1"}, {"a", "2"}}).status(), "pairs");
}

TEST(EncryptionContext, RejectsNonObjectsAndNonStringValues) {
  for (const char* json : {R"({"a":1})", R"({"a":null})", R"({"a":true})", R"({"a":["x"]})",
                           R"({"a":{"b":"c"}})", R"(["a","b"])", R"("a")", "42", "null",
                           R"({"a":"1")", R"({"a":"1"} x)", "{a:\"1\"}"}) {
    ExpectInvalidParameter(EncryptionContext::FromJson(json).status(), json);
  }
}

TEST(EncryptionContext, RejectsEmptyKeysAndInvalidUtf8) {
  ExpectInvalidParameter(EncryptionContext::FromPairs({{"", "v"}}).status(), "empty key");
  ExpectInvalidParameter(EncryptionContext::FromPairs({{"k", "\xff"}}).status(), "bad byte");
  ExpectInvalidParameter(EncryptionContext::FromPairs({{"k", "\xc3"}}).status(), "truncated");
  ExpectInvalidParameter(EncryptionContext::FromPairs({{"\xc0\x80", "v"}}).status(), "overlong");
  ExpectInvalidParameter(EncryptionContext::FromPairs({{"k", "\xed\xa0\x80"}}).status(),
                         "surrogate");
  EXPECT_TRUE(EncryptionContext::FromPairs({{"k\xc3\xa9", "\xf0\x9f\x94\x91"}}).ok());
  EXPECT_TRUE(EncryptionContext::FromPairs({{"k", ""}}).ok());  // empty values are allowed
}

TEST(EncryptionContext, EnforcesEveryLimitAtTheEdge) {
  using EC = EncryptionContext;
  EXPECT_TRUE(EC::FromPairs({{std::string(EC::kMaxKeySize, 'k'), "v"}}).ok());
  ExpectInvalidParameter(EC::FromPairs({{std::string(EC::kMaxKeySize + 1, 'k'), "v"}}).status(),
                         "key");
  EXPECT_TRUE(EC::FromPairs({{"k", std::string(EC::kMaxValueSize, 'v')}}).ok());
  ExpectInvalidParameter(EC::FromPairs({{"k", std::string(EC::kMaxValueSize + 1, 'v')}}).status(),
                         "value");
  Pairs many;
  for (size_t i = 0; i < EC::kMaxPairs; ++i) many.emplace_back("k" + std::to_string(i), "v");
  EXPECT_TRUE(EC::FromPairs(many).ok());
  many.emplace_back("extra", "v");
  ExpectInvalidParameter(EC::FromPairs(many).status(), "pairs");

  // Canonical size: 2 + 3 * (2 + 1 + 2 + 4096) + (2 + 1 + 2 + 4074) = 16384.
  Pairs big = {{"a", std::string(4096, 'x')}, {"b", std::string(4096, 'x')},
               {"c", std::string(4096, 'x')}, {"d", std::string(4074, 'x')}};
  absl::StatusOr<EC> at_limit = EC::FromPairs(big);
  ASSERT_TRUE(at_limit.ok()) << at_limit.status();
  EXPECT_EQ(at_limit->Canonical().size(), EC::kMaxCanonicalSize);
  absl::StatusOr<EC> reparsed = EC::FromCanonical(at_limit->Canonical());
  ASSERT_TRUE(reparsed.ok()) << reparsed.status();
  big[3].second.push_back('x');
  ExpectInvalidParameter(EC::FromPairs(big).status(), "canonical size");

  // JSON text size.
  std::string json = "{}";
  json.resize(EC::kMaxJsonSize, ' ');
  EXPECT_TRUE(EC::FromJson(json).ok());
  json.push_back(' ');
  ExpectInvalidParameter(EC::FromJson(json).status(), "json size");
}

TEST(EncryptionContext, CanonicalEncodingHasTheDocumentedByteLayout) {
  absl::StatusOr<EncryptionContext> ctx = EncryptionContext::FromJson(R"({"b":"xy","a":""})");
  ASSERT_TRUE(ctx.ok());
  const std::vector<uint8_t> expected = {0, 2,             // pair count
                                         0, 1, 'a', 0, 0,  // "a" -> ""
                                         0, 1, 'b', 0, 2, 'x', 'y'};
  EXPECT_EQ(Vec(ctx->Canonical()), expected);
}

TEST(EncryptionContext, KeysSortByUnsignedBytes) {
  absl::StatusOr<EncryptionContext> ctx =
      EncryptionContext::FromPairs({{"\xc3\xa9", "1"}, {"z", "2"}, {"Z", "3"}});
  ASSERT_TRUE(ctx.ok());
  std::vector<uint8_t> c = Vec(ctx->Canonical());
  EXPECT_EQ(c[4], 'Z');
  EXPECT_EQ(c[10], 'z');
  EXPECT_EQ(c[16], 0xc3);
  absl::StatusOr<EncryptionContext> back = EncryptionContext::FromCanonical(ctx->Canonical());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, *ctx);
}

TEST(EncryptionContext, FromCanonicalRoundTrips) {
  absl::StatusOr<EncryptionContext> ctx =
      EncryptionContext::FromJson(R"({"tenant":"acme","purpose":"backup","empty":""})");
  ASSERT_TRUE(ctx.ok());
  absl::StatusOr<EncryptionContext> back = EncryptionContext::FromCanonical(ctx->Canonical());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, *ctx);
  EXPECT_EQ(back->pairs(), ctx->pairs());
  absl::StatusOr<EncryptionContext> empty =
      EncryptionContext::FromCanonical(EncryptionContext().Canonical());
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(EncryptionContext, FromCanonicalRejectsEveryNonCanonicalEncoding) {
  using V = std::vector<uint8_t>;
  const V good = {0, 2, 0, 1, 'a', 0, 1, '1', 0, 1, 'b', 0, 1, '2'};
  ASSERT_TRUE(EncryptionContext::FromCanonical(good).ok());
  const std::vector<std::pair<const char*, V>> bad = {
      {"empty", {}},
      {"one byte", {0}},
      {"unsorted", {0, 2, 0, 1, 'b', 0, 1, '2', 0, 1, 'a', 0, 1, '1'}},
      {"duplicate", {0, 2, 0, 1, 'a', 0, 1, '1', 0, 1, 'a', 0, 1, '2'}},
      {"trailing byte", {0, 1, 0, 1, 'a', 0, 1, '1', 0}},
      {"count too high", {0, 3, 0, 1, 'a', 0, 1, '1', 0, 1, 'b', 0, 1, '2'}},
      {"count too low", {0, 1, 0, 1, 'a', 0, 1, '1', 0, 1, 'b', 0, 1, '2'}},
      {"empty context with trailing", {0, 0, 0}},
      {"key length past end", {0, 1, 0, 9, 'a'}},
      {"value length past end", {0, 1, 0, 1, 'a', 0, 5, '1'}},
      {"missing value length", {0, 1, 0, 1, 'a', 0}},
      {"empty key", {0, 1, 0, 0, 0, 1, '1'}},
      {"too many pairs", {0, 65}},
      {"invalid utf8", {0, 1, 0, 1, 0xff, 0, 0}},
  };
  for (const auto& [what, bytes] : bad) {
    ExpectInvalidParameter(EncryptionContext::FromCanonical(bytes).status(), what);
  }
  // Every proper prefix of a good encoding is rejected.
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(EncryptionContext::FromCanonical(absl::MakeConstSpan(good).subspan(0, n)).ok())
        << n;
  }
  V oversized(EncryptionContext::kMaxCanonicalSize + 1, 0);
  EXPECT_FALSE(EncryptionContext::FromCanonical(oversized).ok());
}

TEST(EncryptionContext, EqualityIgnoresJsonOrderAndSpacing) {
  absl::StatusOr<EncryptionContext> a = EncryptionContext::FromJson(R"({"x":"1","y":"2"})");
  absl::StatusOr<EncryptionContext> b =
      EncryptionContext::FromJson("{ \"y\" : \"2\" ,\n \"x\":\"1\" }");
  absl::StatusOr<EncryptionContext> c = EncryptionContext::FromJson(R"({"x":"1","y":"3"})");
  absl::StatusOr<EncryptionContext> d = EncryptionContext::FromJson(R"({"x":"1"})");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok() && d.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(Vec(a->Canonical()), Vec(b->Canonical()));
  EXPECT_NE(*a, *c);
  EXPECT_NE(*a, *d);
  // Escapes decode to the same string as the literal.
  absl::StatusOr<EncryptionContext> e = EncryptionContext::FromJson(R"({"\u0078":"\u0031","y":"2"})");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(*e, *a);
}

TEST(EncryptionContext, CopiesShareOneRepresentationAndOutliveTheOriginal) {
  auto original = std::make_unique<EncryptionContext>(
      *EncryptionContext::FromJson(R"({"tenant":"a","purpose":"backup"})"));
  EncryptionContext copy = *original;
  // The copy shares the original's bytes (a parsed header reuses the caller's context).
  EXPECT_EQ(copy.Canonical().data(), original->Canonical().data());
  const std::vector<uint8_t> bytes(original->Canonical().begin(), original->Canonical().end());
  original.reset();
  EXPECT_EQ(std::vector<uint8_t>(copy.Canonical().begin(), copy.Canonical().end()), bytes);
  EXPECT_EQ(copy.pairs().at("tenant"), "a");
  EXPECT_EQ(copy, *EncryptionContext::FromJson(R"({"purpose":"backup","tenant":"a"})"));
  // Every empty context is the same two bytes, however it was made.
  const EncryptionContext defaulted;
  EXPECT_EQ(defaulted, EncryptionContext::Empty());
  EXPECT_EQ(defaulted, *EncryptionContext::FromJson("{}"));
  EXPECT_EQ(defaulted, *EncryptionContext::FromPairs({}));
  EXPECT_EQ(std::vector<uint8_t>(defaulted.Canonical().begin(), defaulted.Canonical().end()),
            (std::vector<uint8_t>{0, 0}));
  EXPECT_NE(copy, defaulted);
}

TEST(EncryptionContext, ContainsChecksEveryPairOfTheSubset) {
  absl::StatusOr<EncryptionContext> full =
      EncryptionContext::FromJson(R"({"a":"1","b":"2","c":"3"})");
  absl::StatusOr<EncryptionContext> sub = EncryptionContext::FromJson(R"({"c":"3","a":"1"})");
  absl::StatusOr<EncryptionContext> wrong_value = EncryptionContext::FromJson(R"({"a":"2"})");
  absl::StatusOr<EncryptionContext> extra = EncryptionContext::FromJson(R"({"a":"1","d":"4"})");
  ASSERT_TRUE(full.ok() && sub.ok() && wrong_value.ok() && extra.ok());
  EXPECT_TRUE(full->Contains(*sub));
  EXPECT_TRUE(full->Contains(*full));
  EXPECT_TRUE(full->Contains(EncryptionContext::Empty()));
  EXPECT_FALSE(sub->Contains(*full));
  EXPECT_FALSE(full->Contains(*wrong_value));
  EXPECT_FALSE(full->Contains(*extra));
  EXPECT_FALSE(EncryptionContext::Empty().Contains(*sub));
}

}  // namespace
}  // namespace kms_envelope
