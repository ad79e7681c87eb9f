#include "kms_envelope/kms_api/xml_response.h"

#include <expat.h>
#include <malloc.h>
#include <sodium.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace kms_envelope {
namespace kms_api {
namespace {

// Expat's blocks are wiped before they go back to malloc: they may hold a base64 Plaintext.
void* WipingMalloc(size_t n) { return std::malloc(n); }

void WipingFree(void* p) {
  if (p == nullptr) return;
  sodium_memzero(p, malloc_usable_size(p));
  std::free(p);
}

void* WipingRealloc(void* p, size_t n) {
  void* fresh = std::malloc(n);
  if (fresh == nullptr) return nullptr;  // expat keeps (and later frees) the old block
  if (p != nullptr) {
    size_t old = malloc_usable_size(p);
    std::memcpy(fresh, p, old < n ? old : n);
    WipingFree(p);
  }
  return fresh;
}

const XML_Memory_Handling_Suite kWipingMemory = {WipingMalloc, WipingRealloc, WipingFree};

bool IsBlank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// One open element.
struct Open {
  WipedString name;
  WipedJson children = WipedJson::object();
  WipedString text;
  bool has_children = false;
};

struct Builder {
  XML_Parser parser = nullptr;
  std::vector<Open> stack;
  WipedJson root;
  bool done = false;
  std::string error;

  void Fail(std::string why) {
    if (error.empty()) error = std::move(why);
    XML_StopParser(parser, XML_FALSE);
  }
};

void AddChild(Open* parent, WipedString name, WipedJson value) {
  parent->has_children = true;
  auto it = parent->children.find(name);
  if (it == parent->children.end()) {
    parent->children[std::move(name)] = std::move(value);
    return;
  }
  if (!it->is_array()) {
    WipedJson first = std::move(*it);
    *it = WipedJson::array();
    it->push_back(std::move(first));
  }
  it->push_back(std::move(value));
}

void XMLCALL OnStart(void* user, const XML_Char* name, const XML_Char** attributes) {
  auto* b = static_cast<Builder*>(user);
  if (attributes != nullptr && attributes[0] != nullptr) return b->Fail("attributes");
  if (b->done) return b->Fail("a second root element");
  if (b->stack.size() >= kMaxXmlDepth) return b->Fail("nesting too deep");
  if (!b->stack.empty() && !IsBlank(b->stack.back().text)) return b->Fail("mixed content");
  b->stack.emplace_back();
  b->stack.back().name = ToWiped(name);
}

void XMLCALL OnEnd(void* user, const XML_Char*) {
  auto* b = static_cast<Builder*>(user);
  Open closed = std::move(b->stack.back());
  b->stack.pop_back();
  if (closed.has_children && !IsBlank(closed.text)) return b->Fail("mixed content");
  WipedJson value = closed.has_children ? std::move(closed.children) : WipedJson(closed.text);
  WipeString(&closed.text);
  if (b->stack.empty()) {
    b->root = closed.has_children ? std::move(value) : WipedJson::object();
    b->done = true;
    return;
  }
  AddChild(&b->stack.back(), std::move(closed.name), std::move(value));
}

void XMLCALL OnText(void* user, const XML_Char* s, int len) {
  auto* b = static_cast<Builder*>(user);
  if (b->stack.empty()) return;
  b->stack.back().text.append(s, static_cast<size_t>(len));
}

void XMLCALL OnDoctype(void* user, const XML_Char*, const XML_Char*, const XML_Char*, int) {
  static_cast<Builder*>(user)->Fail("a DOCTYPE");
}

}  // namespace

bool LooksLikeXml(std::string_view body) {
  size_t first = body.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && body[first] == '<';
}

absl::Status ParseXmlResponse(std::string_view body, WipedJson* out) {
  Builder b;
  b.parser = XML_ParserCreate_MM("UTF-8", &kWipingMemory, nullptr);
  if (b.parser == nullptr) return absl::ResourceExhaustedError("cannot create an XML parser");
  XML_SetUserData(b.parser, &b);
  XML_SetElementHandler(b.parser, OnStart, OnEnd);
  XML_SetCharacterDataHandler(b.parser, OnText);
  XML_SetStartDoctypeDeclHandler(b.parser, OnDoctype);
  const XML_Status status =
      XML_Parse(b.parser, body.data(), static_cast<int>(body.size()), XML_TRUE);
  if (status != XML_STATUS_OK && b.error.empty()) {
    b.error = XML_ErrorString(XML_GetErrorCode(b.parser));
  }
  XML_ParserFree(b.parser);
  for (Open& o : b.stack) WipeString(&o.text);
  if (!b.error.empty() || !b.done) {
    return absl::DataLossError(
        absl::StrCat("malformed KMS response: XML ", b.error.empty() ? "incomplete" : b.error));
  }
  *out = std::move(b.root);
  return absl::OkStatus();
}

namespace {

void XmlEscape(std::string_view s, WipedString* out) {
  for (char c : s) {
    switch (c) {
      case '&': out->append("&amp;"); break;
      case '<': out->append("&lt;"); break;
      case '>': out->append("&gt;"); break;
      case '"': out->append("&quot;"); break;
      case '\'': out->append("&apos;"); break;
      default: out->push_back(c);
    }
  }
}

void AppendElement(std::string_view name, const WipedJson& v, WipedString* out) {
  if (v.is_array()) {
    for (const WipedJson& e : v) AppendElement(name, e, out);
    return;
  }
  out->append("<").append(name.data(), name.size()).append(">");
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      AppendElement(std::string_view(it.key()), it.value(), out);
    }
  } else if (v.is_string()) {
    XmlEscape(std::string_view(v.get_ref<const WipedString&>()), out);
  } else {
    WipedString text = v.dump(-1, ' ', false, WipedJson::error_handler_t::replace);
    XmlEscape(std::string_view(text), out);
  }
  out->append("</").append(name.data(), name.size()).append(">");
}

}  // namespace

void RenderXmlResponse(std::string_view root, const WipedJson& result, WipedString* out) {
  out->append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
  AppendElement(root, result, out);
}

}  // namespace kms_api
}  // namespace kms_envelope
