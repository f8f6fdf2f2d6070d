#pragma once
// The PROXY protocol (HAProxy, doc/proxy-protocol.txt), versions 1 and 2: the header lb4 puts in
// front of every backend connection to tell gw7 who the client was, and that gw7 reads back.
//
// Encoding is allocation-free through the *Into functions (lb4 writes a header per connection);
// the std::string variants are conveniences built on them.
//
// Decoding is incremental: DecodeProxyHeader() looks at whatever bytes have arrived so far and
// says "need more", "not a PROXY header at all", "invalid (why)" or "complete (N bytes, header)".
// It never reads past the view it is given and keeps no state between calls, so the caller just
// calls it again with the longer buffer. A verdict other than kNeedMore never changes when more
// bytes arrive. It is strict: anything the spec does not allow is refused, never guessed at.
//
// Limits: a v1 line is at most 107 bytes including CRLF (the spec's worst case). A v2 header is
// at most kMaxProxyV2HeaderSize = 16 KiB including its 16-byte fixed part; the 16-bit length
// field alone would allow 64 KiB, but nothing real sends that much (HAProxy cannot emit more than
// its 16 KiB buffer; lb4 sends well under 1 KiB), and the bound caps what a caller buffers.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/net/address.h"

namespace edge::net {

// ---- Constants from the spec ----

inline constexpr size_t kMaxProxyV1HeaderSize = 107;        // "PROXY UNKNOWN <v6> <v6> ...\r\n"
inline constexpr size_t kProxyV2FixedSize = 16;             // signature, ver/cmd, fam, len
inline constexpr size_t kMaxProxyV2HeaderSize = 16 * 1024;  // our bound, fixed part included

// v2 TLV types (PP2_TYPE_*).
inline constexpr uint8_t kPp2TypeAlpn = 0x01;
inline constexpr uint8_t kPp2TypeAuthority = 0x02;  // SNI / host name
inline constexpr uint8_t kPp2TypeCrc32c = 0x03;
inline constexpr uint8_t kPp2TypeNoop = 0x04;
inline constexpr uint8_t kPp2TypeUniqueId = 0x05;  // at most 128 bytes
inline constexpr uint8_t kPp2TypeSsl = 0x20;
inline constexpr uint8_t kPp2SubtypeSslVersion = 0x21;
inline constexpr uint8_t kPp2SubtypeSslCn = 0x22;
inline constexpr uint8_t kPp2SubtypeSslCipher = 0x23;
inline constexpr uint8_t kPp2SubtypeSslSigAlg = 0x24;
inline constexpr uint8_t kPp2SubtypeSslKeyAlg = 0x25;
inline constexpr uint8_t kPp2TypeNetns = 0x30;

inline constexpr size_t kMaxProxyUniqueIdSize = 128;

// The <client> bit field of the SSL TLV (PP2_CLIENT_*).
inline constexpr uint8_t kPp2ClientSsl = 0x01;
inline constexpr uint8_t kPp2ClientCertConn = 0x02;
inline constexpr uint8_t kPp2ClientCertSess = 0x04;

// ---- TLVs ----

// A TLV to encode, pointing at bytes the caller keeps alive for the duration of the call.
struct ProxyTlvView {
  uint8_t type = 0;
  std::string_view value;
};

// A TLV that owns its value: what the decoder returns.
struct ProxyTlv {
  uint8_t type = 0;
  std::string value;

  operator ProxyTlvView() const { return {type, value}; }
  friend bool operator==(const ProxyTlv&, const ProxyTlv&) = default;
};

// The value of a PP2_TYPE_SSL TLV: client flags, verify result (0 = client certificate verified),
// then sub-TLVs (kPp2SubtypeSsl*).
struct ProxySslInfo {
  uint8_t client = 0;
  uint32_t verify = 0;
  std::vector<ProxyTlv> sub_tlvs;

  const ProxyTlv* Find(uint8_t type) const;  // first sub-TLV of that type, or nullptr
  friend bool operator==(const ProxySslInfo&, const ProxySslInfo&) = default;
};

// Size of the value EncodeProxySslTlvValueInto() writes: 5 + sum(3 + sub-TLV value size).
size_t ProxySslTlvValueSize(std::span<const ProxyTlvView> sub_tlvs);
// Writes the SSL TLV's value (not its own type/length) into out. Returns the bytes written, or 0
// when cap is too small or a sub-TLV value exceeds 65535 bytes.
size_t EncodeProxySslTlvValueInto(char* out, size_t cap, uint8_t client, uint32_t verify,
                                  std::span<const ProxyTlvView> sub_tlvs);
// The whole SSL TLV (its value empty if a sub-TLV exceeds 65535 bytes), e.g. from a local array:
//   ProxyTlvView subs[] = {{kPp2SubtypeSslVersion, "TLSv1.3"}};
//   tlvs.push_back(MakeProxySslTlv(kPp2ClientSsl, 0, subs));
ProxyTlv MakeProxySslTlv(uint8_t client, uint32_t verify, std::span<const ProxyTlvView> sub_tlvs);
// Parses an SSL TLV's value. Refuses fewer than 5 bytes and sub-TLVs that do not exactly fill it.
absl::StatusOr<ProxySslInfo> ParseProxySslTlv(std::string_view value);

// CRC32C (Castagnoli, reflected 0x82F63B78, as RFC 4960 appendix B), used by PP2_TYPE_CRC32C.
// Crc32c("123456789") == 0xE3069283. Extend with Crc32cExtend(previous, more).
uint32_t Crc32c(std::string_view data);
uint32_t Crc32cExtend(uint32_t crc, std::string_view data);

// ---- Encoding ----

// v1: "PROXY TCP4 <src ip> <dst ip> <src port> <dst port>\r\n" for two IPv4 addresses, "TCP6" for
// two IPv6 addresses (RFC 5952 text), and "PROXY UNKNOWN\r\n" when either address is invalid or
// the families differ. Writes at most kMaxProxyV1HeaderSize bytes; returns the bytes written, or 0
// when cap is too small for this header.
size_t EncodeProxyV1Into(char* out, size_t cap, const SocketAddress& src, const SocketAddress& dst);
std::string EncodeProxyV1(const SocketAddress& src, const SocketAddress& dst);

// v2 with the PROXY command over STREAM (TCP): family AF_INET when both addresses are IPv4,
// AF_INET6 when both are IPv6. When the families differ, the IPv4 one is written as an IPv4-mapped
// IPv6 address (::ffff:a.b.c.d) and the family is AF_INET6, so the client address still gets
// through (HAProxy does the same); the decoder returns it as that IPv6 address. When either
// address is invalid: the LOCAL command, family UNSPEC, no address block.
// TLVs are appended in order in both cases. A TLV of type kPp2TypeCrc32c is written as a 4-byte
// checksum computed over the finished header (its given value is ignored).
//
// ProxyV2EncodedSize() is the exact size EncodeProxyV2Into() needs, or 0 when the header would
// exceed kMaxProxyV2HeaderSize. EncodeProxyV2Into() returns the bytes written, or 0 when cap is too
// small or the header would exceed kMaxProxyV2HeaderSize. EncodeProxyV2() returns "" then.
size_t ProxyV2EncodedSize(const SocketAddress& src, const SocketAddress& dst,
                          std::span<const ProxyTlvView> tlvs = {});
size_t EncodeProxyV2Into(char* out, size_t cap, const SocketAddress& src, const SocketAddress& dst,
                         std::span<const ProxyTlvView> tlvs = {});
std::string EncodeProxyV2(const SocketAddress& src, const SocketAddress& dst,
                          const std::vector<ProxyTlv>& tlvs = {});

// ---- Decoding ----

enum class ProxyFamily : uint8_t { kUnspec = 0, kInet = 1, kInet6 = 2, kUnix = 3 };
enum class ProxyTransport : uint8_t { kUnspec = 0, kStream = 1, kDgram = 2 };

struct ProxyHeader {
  int version = 0;        // 1 or 2
  bool is_local = false;  // v2 LOCAL command: use the real connection's endpoints
  ProxyFamily family = ProxyFamily::kUnspec;  // v1: TCP4 kInet, TCP6 kInet6, UNKNOWN kUnspec
  ProxyTransport transport = ProxyTransport::kUnspec;  // v1: TCP4/TCP6 are kStream
  // Set (valid()) only for the PROXY command with family kInet or kInet6. LOCAL, UNSPEC and
  // AF_UNIX headers (whose 216-byte addresses SocketAddress cannot hold) leave them invalid: the
  // caller then uses the real connection's addresses.
  SocketAddress source;
  SocketAddress destination;
  std::vector<ProxyTlv> tlvs;  // v2 only, in wire order, including NOOP and CRC32C ones

  bool has_addresses() const { return source.valid(); }
  const ProxyTlv* FindTlv(uint8_t type) const;  // first TLV of that type, or nullptr
  friend bool operator==(const ProxyHeader&, const ProxyHeader&) = default;
};

enum class ProxyDecodeStatus : uint8_t {
  kNeedMore,  // a valid prefix so far: call again with more bytes
  kNotProxy,  // the bytes do not start with a v1 or v2 signature
  kInvalid,   // a PROXY signature followed by something the spec does not allow
  kComplete,  // a whole, valid header: `consumed` bytes of it, then the payload
};

struct ProxyDecodeResult {
  ProxyDecodeStatus status = ProxyDecodeStatus::kNeedMore;
  size_t consumed = 0;     // kComplete: header size; else 0
  std::string_view error;  // kInvalid / kNotProxy: why (static text, fit for logs and metrics)
  ProxyHeader header;      // kComplete only
};

// Decodes a v1 or v2 header at the start of data (the bytes received so far).
//
// v1 refuses: anything but single spaces between fields, any byte outside 0x20-0x7E before the
// CRLF, a lone CR or LF, no CRLF within 107 bytes, protocols other than TCP4/TCP6/UNKNOWN, IPv4
// not in strict dotted-quad (no leading zeros), IPv6 that inet_pton refuses, an address of the
// other family, ports with leading zeros or above 65535, missing or extra fields. "PROXY UNKNOWN"
// may be followed by a space and anything printable, which is ignored (the spec says so).
//
// v2 refuses: a version other than 2, commands other than LOCAL/PROXY, family/transport bytes
// other than 0x00 0x11 0x12 0x21 0x22 0x31 0x32 (for LOCAL too), a length shorter than the
// family's address block or making the header exceed kMaxProxyV2HeaderSize, TLVs that do not
// exactly fill the rest, a CRC32C TLV that is not 4 bytes, repeated or does not match, a
// UNIQUE_ID over 128 bytes, an SSL TLV that ParseProxySslTlv() refuses. Under UNSPEC everything
// after the fixed part is read as TLVs. Other TLV types (custom ones included) are kept as is.
ProxyDecodeResult DecodeProxyHeader(std::string_view data);

std::string_view ProxyDecodeStatusName(ProxyDecodeStatus status);

}  // namespace edge::net
