#include "common/http/message.h"

#include "common/http/chars.h"

namespace edge::http {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (internal::ToLower(a[i]) != internal::ToLower(b[i])) return false;
  }
  return true;
}

const HttpHeader* HttpHeaders::Find(std::string_view name) const {
  for (const HttpHeader& h : fields_) {
    if (EqualsIgnoreCase(h.name, name)) return &h;
  }
  return nullptr;
}

std::string_view HttpHeaders::Get(std::string_view name, std::string_view fallback) const {
  const HttpHeader* h = Find(name);
  return h != nullptr ? h->value : fallback;
}

size_t HttpHeaders::Count(std::string_view name) const {
  size_t n = 0;
  for (const HttpHeader& h : fields_) n += EqualsIgnoreCase(h.name, name) ? 1 : 0;
  return n;
}

}  // namespace edge::http
