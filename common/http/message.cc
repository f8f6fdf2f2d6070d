#include "common/http/message.h"

#include "common/http/chars.h"

namespace edge::http {

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
