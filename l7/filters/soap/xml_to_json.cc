#include "l7/filters/soap/xml_to_json.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "l7/filters/soap/untrusted_xml.h"

namespace edge::l7 {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

bool IsNamespaceDeclaration(std::string_view name) {
  return name == "xmlns" || name.starts_with("xmlns:");
}

bool HasOwnAttributes(pugi::xml_node element) {
  for (pugi::xml_attribute a : element.attributes()) {
    if (!IsNamespaceDeclaration(a.name())) return true;
  }
  return false;
}

void WriteString(JsonWriter& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

bool IsBlank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

void WriteElement(pugi::xml_node element, bool as_object, JsonWriter& w) {
  // Child elements grouped by local name, in order of first appearance.
  std::vector<std::pair<std::string_view, std::vector<pugi::xml_node>>> groups;
  std::unordered_map<std::string_view, size_t> group_of;
  for (pugi::xml_node child : element.children()) {
    if (child.type() != pugi::node_element) continue;
    const std::string_view name = LocalName(child.name());
    auto [it, added] = group_of.emplace(name, groups.size());
    if (added) groups.emplace_back(name, std::vector<pugi::xml_node>());
    groups[it->second].second.push_back(child);
  }
  const std::string text = ElementText(element);
  if (!as_object && groups.empty() && !HasOwnAttributes(element)) {
    WriteString(w, text);
    return;
  }
  w.StartObject();
  for (pugi::xml_attribute a : element.attributes()) {
    if (IsNamespaceDeclaration(a.name())) continue;
    WriteString(w, std::string("@").append(LocalName(a.name())));
    WriteString(w, a.value());
  }
  for (const auto& [name, nodes] : groups) {
    WriteString(w, name);
    if (nodes.size() == 1) {
      WriteElement(nodes[0], false, w);
      continue;
    }
    w.StartArray();
    for (pugi::xml_node n : nodes) WriteElement(n, false, w);
    w.EndArray();
  }
  if (!IsBlank(text)) {
    WriteString(w, "#text");
    WriteString(w, text);
  }
  w.EndObject();
}

}  // namespace

std::string ElementText(pugi::xml_node element) {
  std::string text;
  for (pugi::xml_node child : element.children()) {
    if (child.type() == pugi::node_pcdata || child.type() == pugi::node_cdata) {
      text.append(child.value());
    }
  }
  return text;
}

void AppendElementJson(pugi::xml_node element, bool as_object, std::string* out) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  WriteElement(element, as_object, w);
  out->append(buffer.GetString(), buffer.GetSize());
}

}  // namespace edge::l7
