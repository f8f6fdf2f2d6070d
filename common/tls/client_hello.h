#pragma once
// ClientHelloParser: reads a TLS ClientHello from the first bytes a client sends, without
// decrypting anything, to learn the SNI (for routing TLS that lb4 passes through) and the offered
// ALPN protocols and versions.
//
// Incremental: bytes are fed as they arrive, in any pieces; the hello may span several TLS records
// (RFC 8446 5.1 allows a handshake message to be fragmented over records). Parsing stops at the end
// of the record that completes the hello; later bytes are not looked at.
//
// Strict, because the input is untrusted: every length must be consistent with its container,
// the hello is bounded (max_hello_bytes), extensions may not repeat, server_name must be one
// well-formed host name, and anything that is not a TLS >= 1.0 handshake record (SSLv2
// compatible hellos, SSLv3-only hellos, other record types, zero-length fragments) is refused.
// A refusal carries a reason for counting and a message for logs. Checks run in stream order, each
// when the byte it needs has arrived (record header, handshake type at its first byte, "oversized"
// from the declared hello length only, the record's length against the hello's, then the body),
// so the verdict and reason are the same however the stream was split into reads.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace edge::tls {

struct ClientHelloInfo {
  uint16_t legacy_version = 0;    // client_version field (0x0303 for TLS 1.2 and 1.3 clients)
  std::string sni;                // host_name, lowercased; empty when the client sent none
  std::vector<std::string> alpn;  // offered protocols, in the client's order
  std::vector<uint16_t> supported_versions;  // extension 43, in order; empty when absent
  size_t record_bytes = 0;  // bytes of the stream up to the end of the record completing it
};

enum class HelloError : uint8_t {
  kNone,
  kNotHandshake,        // first record is not a TLS handshake record (garbage, HTTP, ...)
  kSslV2,               // SSLv2-format (compatibility) hello
  kUnsupportedVersion,  // SSLv3 or older
  kMalformed,           // inconsistent lengths, bad fields, duplicate extensions, ...
  kOversized,           // the hello is larger than max_hello_bytes
};

// "not_handshake", "sslv2", "unsupported_version", "malformed", "oversized" (metric labels).
std::string_view HelloErrorName(HelloError error);

class ClientHelloParser {
 public:
  enum class Result : uint8_t { kNeedMore, kDone, kError };

  static constexpr size_t kDefaultMaxHelloBytes = 16384;
  static constexpr size_t kMaxRecordPayload = 16384;  // 2^14, RFC 8446 5.1

  explicit ClientHelloParser(size_t max_hello_bytes = kDefaultMaxHelloBytes)
      : max_hello_bytes_(max_hello_bytes) {}

  // Feeds the next bytes of the stream. After kDone or kError the result is sticky and further
  // bytes are ignored.
  Result Feed(std::string_view bytes);

  Result result() const { return result_; }
  const ClientHelloInfo& info() const { return info_; }  // valid after kDone
  HelloError error() const { return error_; }
  const std::string& error_message() const { return message_; }

 private:
  Result Fail(HelloError error, std::string message);
  Result ParseHello();  // handshake_ holds exactly the whole message
  // Once the hello's length is known: the current record declares no bytes past its end (a
  // ClientHello is alone in its last record).
  bool RecordFitsHello() const;

  size_t max_hello_bytes_;
  Result result_ = Result::kNeedMore;
  HelloError error_ = HelloError::kNone;
  std::string message_;
  ClientHelloInfo info_;
  uint8_t header_[5];       // the current record header
  size_t header_have_ = 0;  // bytes of header_ filled
  size_t record_left_ = 0;  // payload bytes of the current record still to come
  size_t consumed_ = 0;     // stream bytes seen so far
  bool first_record_ = true;
  std::string handshake_;    // handshake-layer bytes reassembled from records
  size_t hello_length_ = 0;  // from the handshake header, once known (0 = not yet)
};

}  // namespace edge::tls
