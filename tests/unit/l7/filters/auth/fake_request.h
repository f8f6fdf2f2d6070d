#pragma once
// A RequestView over plain fields, for filter tests.

#include <strings.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/net/address.h"
#include "l7/filters/field_spelling.h"
#include "l7/filters/filter.h"

namespace edge::l7::testing {

class FakeRequest : public RequestView {
 public:
  FakeRequest() : client_(net::SocketAddress::Parse("192.0.2.10:40000").value()) {}

  std::string_view method() const override { return method_; }
  std::string_view path() const override { return path_; }
  std::string_view query() const override { return query_; }
  std::string_view host() const override { return host_; }
  std::optional<std::string_view> header(std::string_view name) const override {
    for (const auto& [k, v] : headers_) {
      if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) {
        return std::string_view(v);
      }
    }
    return std::nullopt;
  }
  size_t header_count(std::string_view name) const override {
    size_t n = 0;
    for (const auto& [k, v] : headers_) n += SameFieldSpelling(k, name) ? 1 : 0;
    return n;
  }
  const net::SocketAddress& client_address() const override { return client_; }
  std::string_view route_name() const override { return route_; }

  FakeRequest& Header(std::string name, std::string value) {
    headers_.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  FakeRequest& Method(std::string m) {
    method_ = std::move(m);
    return *this;
  }
  FakeRequest& Path(std::string p) {
    path_ = std::move(p);
    return *this;
  }
  FakeRequest& Query(std::string q) {
    query_ = std::move(q);
    return *this;
  }
  FakeRequest& Client(std::string_view address) {
    client_ = net::SocketAddress::Parse(address).value();
    return *this;
  }
  FakeRequest& Route(std::string route) {
    route_ = std::move(route);
    return *this;
  }

 private:
  std::string method_ = "GET";
  std::string path_ = "/v1/orders";
  std::string query_;
  std::string host_ = "api.example.com";
  std::vector<std::pair<std::string, std::string>> headers_;
  net::SocketAddress client_;
  std::string route_ = "orders";
};

// The value of the first response/upstream header of that name, or "".
inline std::string FindHeader(const std::vector<std::pair<std::string, std::string>>& headers,
                              std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return "";
}

}  // namespace edge::l7::testing
