// The XML shape both sides of the KMS API share: what the server renders, the client reads back.
#include "kms_envelope/kms_api/xml_response.h"

#include <string>

#include "gtest/gtest.h"

namespace kms_envelope {
namespace kms_api {
namespace {

WipedJson Json(const char* text) { return WipedJson::parse(text); }

TEST(XmlResponseTest, RendersTheServicesShapeWithTheDeclarationAndRoot) {
  WipedString out;
  RenderXmlResponse("KMS", Json(R"({"KeyId":"k","Keys":{"Key":[{"KeyId":"a"},{"KeyId":"b"}]}})"),
                    &out);
  EXPECT_EQ(std::string(out),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><KMS><KeyId>k</KeyId><Keys>"
            "<Key><KeyId>a</KeyId></Key><Key><KeyId>b</KeyId></Key></Keys></KMS>");
}

TEST(XmlResponseTest, EscapesEveryMarkupCharacterAndWritesNumbersAsText) {
  WipedString out;
  RenderXmlResponse("Error", Json(R"({"Message":"a<b>&\"c'","TotalCount":3})"), &out);
  EXPECT_NE(std::string(out).find("<Message>a&lt;b&gt;&amp;&quot;c&apos;</Message>"),
            std::string::npos)
      << std::string(out);
  EXPECT_NE(std::string(out).find("<TotalCount>3</TotalCount>"), std::string::npos);
}

TEST(XmlResponseTest, WhatTheServerRendersTheClientReadsBack) {
  const WipedJson result =
      Json(R"({"KeyId":"k<&>","Plaintext":"cGxhaW4=","Keys":{"Key":[{"KeyId":"a"},{"KeyId":"b"}]},)"
           R"("TotalCount":2})");
  WipedString xml;
  RenderXmlResponse("KMS", result, &xml);
  WipedJson back;
  ASSERT_TRUE(ParseXmlResponse(std::string_view(xml), &back).ok());
  WipedJson expected = result;
  expected["TotalCount"] = "2";  // XML carries no types
  EXPECT_EQ(back, expected);
}

}  // namespace
}  // namespace kms_api
}  // namespace kms_envelope
