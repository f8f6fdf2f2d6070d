#include "common/tls/client_hello.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_format.h"

namespace edge::tls {
namespace {

constexpr uint8_t kContentTypeHandshake = 22;
constexpr uint8_t kHandshakeClientHello = 1;
constexpr uint16_t kExtServerName = 0;
constexpr uint16_t kExtAlpn = 16;
constexpr uint16_t kExtSupportedVersions = 43;
constexpr uint8_t kNameTypeHostName = 0;
constexpr size_t kMaxHostName = 255;
constexpr size_t kMaxLabel = 63;
constexpr char kBytesAfterHello[] = "record extends past the end of the ClientHello";

// Bounds-checked big-endian reader over one length-delimited structure. Any read past the end
// sets `ok` to false and returns zeros, so parsing code checks once per structure.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool ok() const { return ok_; }
  size_t left() const { return data_.size(); }
  bool empty() const { return data_.empty(); }

  uint32_t Int(size_t n) {
    if (!ok_ || data_.size() < n) {
      ok_ = false;
      return 0;
    }
    uint32_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(data_[i]);
    data_.remove_prefix(n);
    return v;
  }
  std::string_view Bytes(size_t n) {
    if (!ok_ || data_.size() < n) {
      ok_ = false;
      return {};
    }
    std::string_view out = data_.substr(0, n);
    data_.remove_prefix(n);
    return out;
  }
  // A vector with an n-byte length prefix, as a reader of its own.
  Reader Vector(size_t length_bytes) { return Reader(Bytes(Int(length_bytes)), ok_); }

 private:
  Reader(std::string_view data, bool ok) : data_(data), ok_(ok) {}
  std::string_view data_;
  bool ok_ = true;
};

// RFC 6066 3: a DNS host name, ASCII, no trailing dot. Letters, digits, '-' and '_' (seen in
// internal names), labels of 1-63 characters.
bool ValidHostName(std::string_view name) {
  if (name.empty() || name.size() > kMaxHostName) return false;
  size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok || ++label > kMaxLabel) return false;
  }
  return label != 0;
}

}  // namespace

std::string_view HelloErrorName(HelloError error) {
  switch (error) {
    case HelloError::kNone:
      return "none";
    case HelloError::kNotHandshake:
      return "not_handshake";
    case HelloError::kSslV2:
      return "sslv2";
    case HelloError::kUnsupportedVersion:
      return "unsupported_version";
    case HelloError::kMalformed:
      return "malformed";
    case HelloError::kOversized:
      return "oversized";
  }
  return "unknown";
}

ClientHelloParser::Result ClientHelloParser::Fail(HelloError error, std::string message) {
  result_ = Result::kError;
  error_ = error;
  message_ = std::move(message);
  handshake_.clear();
  handshake_.shrink_to_fit();
  return result_;
}

bool ClientHelloParser::RecordFitsHello() const {
  return hello_length_ == 0 || record_left_ <= hello_length_ + 4 - handshake_.size();
}

ClientHelloParser::Result ClientHelloParser::Feed(std::string_view bytes) {
  if (result_ != Result::kNeedMore) return result_;
  while (!bytes.empty()) {
    if (header_have_ < sizeof(header_)) {
      const size_t take = std::min(sizeof(header_) - header_have_, bytes.size());
      std::memcpy(header_ + header_have_, bytes.data(), take);
      header_have_ += take;
      consumed_ += take;
      bytes.remove_prefix(take);
      // An SSLv2-format hello starts with a 2-byte length whose top bit is set; no TLS record
      // type has that bit.
      if (first_record_ && (header_[0] & 0x80) != 0) {
        return Fail(HelloError::kSslV2, "SSLv2-format ClientHello");
      }
      if (header_have_ < sizeof(header_)) return Result::kNeedMore;
      const HelloError wrong = first_record_ ? HelloError::kNotHandshake : HelloError::kMalformed;
      if (header_[0] != kContentTypeHandshake) {
        return Fail(wrong, absl::StrFormat("record type %d, expected handshake (22)", header_[0]));
      }
      if (header_[1] != 3 || header_[2] > 4) {
        return Fail(wrong,
                    absl::StrFormat("record version %d.%d is not TLS", header_[1], header_[2]));
      }
      record_left_ = (static_cast<size_t>(header_[3]) << 8) | header_[4];
      if (record_left_ == 0) return Fail(HelloError::kMalformed, "empty handshake record");
      if (record_left_ > kMaxRecordPayload) {
        return Fail(HelloError::kMalformed,
                    absl::StrFormat("record of %d bytes exceeds 2^14", record_left_));
      }
      first_record_ = false;
      if (!RecordFitsHello()) return Fail(HelloError::kMalformed, kBytesAfterHello);
      continue;
    }
    // Handshake bytes. Every check below is tied to a fixed position in the stream (the type at
    // handshake byte 0, the declared length at byte 3, the record's declared length against the
    // hello's at whichever of the two comes later), and bytes are taken only up to the next such
    // position, so the verdict and its reason never depend on how TCP split the stream.
    size_t want = record_left_;
    if (hello_length_ == 0) want = std::min(want, 4 - handshake_.size());
    const size_t take = std::min(want, bytes.size());
    handshake_.append(bytes.data(), take);
    record_left_ -= take;
    consumed_ += take;
    bytes.remove_prefix(take);
    const auto* h = reinterpret_cast<const uint8_t*>(handshake_.data());
    if (hello_length_ == 0 && !handshake_.empty() && h[0] != kHandshakeClientHello) {
      return Fail(HelloError::kMalformed,
                  absl::StrFormat("handshake message type %d, expected ClientHello (1)", h[0]));
    }
    if (hello_length_ == 0 && handshake_.size() == 4) {
      const size_t length = (size_t{h[1]} << 16) | (size_t{h[2]} << 8) | h[3];
      if (length == 0) return Fail(HelloError::kMalformed, "empty ClientHello");
      // Oversized is decided here, from the declared length alone; handshake_ then never grows
      // past length + 4, whatever the records declare.
      if (length > max_hello_bytes_) {
        return Fail(HelloError::kOversized, absl::StrFormat("ClientHello of %d bytes exceeds %d",
                                                            length, max_hello_bytes_));
      }
      hello_length_ = length;
      if (!RecordFitsHello()) return Fail(HelloError::kMalformed, kBytesAfterHello);
    }
    if (record_left_ == 0) {
      header_have_ = 0;
      if (hello_length_ != 0 && handshake_.size() == hello_length_ + 4) {
        info_.record_bytes = consumed_;
        return ParseHello();
      }
    }
  }
  return Result::kNeedMore;
}

ClientHelloParser::Result ClientHelloParser::ParseHello() {
  Reader body(std::string_view(handshake_).substr(4));
  info_.legacy_version = static_cast<uint16_t>(body.Int(2));
  if (!body.ok()) return Fail(HelloError::kMalformed, "truncated ClientHello");
  if ((info_.legacy_version >> 8) != 3) {
    return Fail(HelloError::kMalformed,
                absl::StrFormat("client_version 0x%04x is not TLS", info_.legacy_version));
  }
  if (info_.legacy_version < 0x0301) {
    return Fail(HelloError::kUnsupportedVersion, "SSLv3 ClientHello (TLS 1.0 or later required)");
  }
  body.Bytes(32);  // random
  Reader session_id = body.Vector(1);
  if (session_id.left() > 32) return Fail(HelloError::kMalformed, "session_id longer than 32");
  Reader suites = body.Vector(2);
  if (body.ok() && (suites.left() < 2 || suites.left() % 2 != 0)) {
    return Fail(HelloError::kMalformed, "cipher_suites length must be even and non-zero");
  }
  Reader compression = body.Vector(1);
  if (!body.ok()) return Fail(HelloError::kMalformed, "truncated ClientHello");
  bool null_compression = false;
  while (!compression.empty()) null_compression |= compression.Int(1) == 0;
  if (!null_compression) {
    return Fail(HelloError::kMalformed, "compression_methods lacks null compression");
  }
  if (body.empty()) {  // TLS 1.0-1.2 clients may send no extensions at all
    handshake_.clear();
    handshake_.shrink_to_fit();
    return result_ = Result::kDone;
  }
  Reader extensions = body.Vector(2);
  if (!body.ok() || !body.empty()) {
    return Fail(HelloError::kMalformed, "extensions length does not match the ClientHello");
  }
  std::vector<uint16_t> seen;
  while (!extensions.empty()) {
    const uint16_t type = static_cast<uint16_t>(extensions.Int(2));
    Reader data = extensions.Vector(2);
    if (!extensions.ok()) return Fail(HelloError::kMalformed, "truncated extension");
    seen.push_back(type);
    if (type == kExtServerName) {
      Reader list = data.Vector(2);
      if (!data.ok() || !data.empty() || list.empty()) {
        return Fail(HelloError::kMalformed, "bad server_name extension");
      }
      while (!list.empty()) {
        const uint32_t name_type = list.Int(1);
        std::string_view name = list.Bytes(list.Int(2));
        if (!list.ok()) return Fail(HelloError::kMalformed, "truncated server_name");
        if (name_type != kNameTypeHostName) continue;  // other name types: none defined; skipped
        if (!info_.sni.empty())
          return Fail(HelloError::kMalformed, "two host names in server_name");
        if (!ValidHostName(name))
          return Fail(HelloError::kMalformed, "invalid server_name host name");
        info_.sni.assign(name);
        for (char& c : info_.sni) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
      }
    } else if (type == kExtAlpn) {
      Reader list = data.Vector(2);
      if (!data.ok() || !data.empty() || list.left() < 2) {
        return Fail(HelloError::kMalformed, "bad application_layer_protocol_negotiation extension");
      }
      while (!list.empty()) {
        Reader proto = list.Vector(1);
        if (!list.ok() || proto.empty()) {
          return Fail(HelloError::kMalformed, "bad ALPN protocol name");
        }
        info_.alpn.emplace_back(proto.Bytes(proto.left()));
      }
    } else if (type == kExtSupportedVersions) {
      Reader list = data.Vector(1);
      if (!data.ok() || !data.empty() || list.left() < 2 || list.left() % 2 != 0) {
        return Fail(HelloError::kMalformed, "bad supported_versions extension");
      }
      while (!list.empty()) info_.supported_versions.push_back(static_cast<uint16_t>(list.Int(2)));
    }
  }
  std::sort(seen.begin(), seen.end());
  if (std::adjacent_find(seen.begin(), seen.end()) != seen.end()) {
    return Fail(HelloError::kMalformed, "duplicate extension");
  }
  handshake_.clear();
  handshake_.shrink_to_fit();
  return result_ = Result::kDone;
}

}  // namespace edge::tls
