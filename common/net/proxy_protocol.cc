#include "common/net/proxy_protocol.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "absl/status/status.h"

namespace edge::net {
namespace {

constexpr char kV2SignatureBytes[12] = {'\r', '\n', '\r', '\n', '\0', '\r',
                                        '\n', 'Q',  'U',  'I',  'T',  '\n'};
constexpr std::string_view kV2Signature(kV2SignatureBytes, sizeof(kV2SignatureBytes));
constexpr std::string_view kV1Signature = "PROXY";

constexpr uint8_t kV2VersionNibble = 0x20;
constexpr uint8_t kV2CommandLocal = 0x00;
constexpr uint8_t kV2CommandProxy = 0x01;
constexpr uint8_t kV2FamUnspec = 0x00;
constexpr uint8_t kV2FamTcp4 = 0x11;
constexpr uint8_t kV2FamTcp6 = 0x21;
constexpr size_t kV2Inet4Block = 12;  // 2 * 4 + 2 * 2
constexpr size_t kV2Inet6Block = 36;  // 2 * 16 + 2 * 2
constexpr size_t kV2UnixBlock = 216;  // 2 * 108
constexpr size_t kTlvHeaderSize = 3;  // type, length (big-endian 16 bits)
constexpr size_t kSslFixedSize = 5;   // client, verify (big-endian 32 bits)
constexpr size_t kMaxTlvValue = 0xFFFF;

// ---- CRC32C, table-driven (one byte at a time; only used when a CRC32C TLV is present) ----

constexpr std::array<uint32_t, 256> MakeCrc32cTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1) ? 0x82F63B78u : 0u);
    table[i] = crc;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrc32cTable = MakeCrc32cTable();

// Works on the raw (pre-inverted) register, so pieces can be chained without re-inverting.
uint32_t Crc32cRaw(uint32_t reg, const char* data, size_t size) {
  for (size_t i = 0; i < size; ++i) {
    reg = (reg >> 8) ^ kCrc32cTable[(reg ^ static_cast<uint8_t>(data[i])) & 0xFF];
  }
  return reg;
}

// ---- Byte helpers ----

uint16_t LoadBe16(const char* p) {
  return static_cast<uint16_t>((static_cast<uint8_t>(p[0]) << 8) | static_cast<uint8_t>(p[1]));
}
uint32_t LoadBe32(const char* p) {
  return (uint32_t{static_cast<uint8_t>(p[0])} << 24) |
         (uint32_t{static_cast<uint8_t>(p[1])} << 16) |
         (uint32_t{static_cast<uint8_t>(p[2])} << 8) | uint32_t{static_cast<uint8_t>(p[3])};
}
char* StoreBe16(char* p, uint16_t v) {
  p[0] = static_cast<char>(v >> 8);
  p[1] = static_cast<char>(v & 0xFF);
  return p + 2;
}
char* StoreBe32(char* p, uint32_t v) {
  p[0] = static_cast<char>(v >> 24);
  p[1] = static_cast<char>((v >> 16) & 0xFF);
  p[2] = static_cast<char>((v >> 8) & 0xFF);
  p[3] = static_cast<char>(v & 0xFF);
  return p + 4;
}
char* StoreBytes(char* p, std::string_view bytes) {
  if (!bytes.empty()) std::memcpy(p, bytes.data(), bytes.size());
  return p + bytes.size();
}

// Decimal without leading zeros; at most 5 digits (ports) or 3 (octets).
char* StoreDecimal(char* p, uint32_t v) {
  char digits[10];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0) *p++ = digits[--n];
  return p;
}

// Writes the IPv4-mapped form of a 4-byte address, or the 16 bytes of an IPv6 one.
char* StoreIpv6Bytes(char* p, const SocketAddress& a) {
  std::string_view bytes = a.IpBytes();
  if (bytes.size() == 4) {
    std::memset(p, 0, 10);
    p[10] = static_cast<char>(0xFF);
    p[11] = static_cast<char>(0xFF);
    std::memcpy(p + 12, bytes.data(), 4);
    return p + 16;
  }
  return StoreBytes(p, bytes);
}

// ---- TLV encoding, shared by ProxyTlv and ProxyTlvView sequences ----

// Total bytes of a TLV sequence (3 + value each; a CRC32C value is always 4 bytes), or 0 with
// *ok = false when a value is too long or more than one CRC32C TLV is present. Stops early once
// the total passes `limit`, so it cannot overflow.
template <typename Tlvs>
size_t TlvsSize(const Tlvs& tlvs, size_t limit, bool* ok) {
  size_t total = 0;
  int crcs = 0;
  *ok = true;
  for (const auto& tlv : tlvs) {
    size_t value_size = std::string_view(tlv.value).size();
    if (tlv.type == kPp2TypeCrc32c) {
      value_size = 4;
      ++crcs;
    }
    if (value_size > kMaxTlvValue || crcs > 1) {
      *ok = false;
      return 0;
    }
    total += kTlvHeaderSize + value_size;
    if (total > limit) {
      *ok = false;
      return 0;
    }
  }
  return total;
}

// Writes TLVs; returns the end. *crc_value is set to the CRC32C TLV's value, if any.
template <typename Tlvs>
char* StoreTlvs(char* p, const Tlvs& tlvs, char** crc_value) {
  for (const auto& tlv : tlvs) {
    std::string_view value(tlv.value);
    *p++ = static_cast<char>(tlv.type);
    if (tlv.type == kPp2TypeCrc32c) {
      p = StoreBe16(p, 4);
      *crc_value = p;
      std::memset(p, 0, 4);
      p += 4;
      continue;
    }
    p = StoreBe16(p, static_cast<uint16_t>(value.size()));
    p = StoreBytes(p, value);
  }
  return p;
}

struct V2Layout {
  uint8_t ver_cmd = kV2VersionNibble | kV2CommandLocal;
  uint8_t fam = kV2FamUnspec;
  size_t address_block = 0;
};

V2Layout LayoutFor(const SocketAddress& src, const SocketAddress& dst) {
  V2Layout layout;
  if (!src.valid() || !dst.valid()) return layout;
  layout.ver_cmd = kV2VersionNibble | kV2CommandProxy;
  if (src.is_v4() && dst.is_v4()) {
    layout.fam = kV2FamTcp4;
    layout.address_block = kV2Inet4Block;
  } else {
    layout.fam = kV2FamTcp6;  // mixed families: the IPv4 side becomes ::ffff:a.b.c.d
    layout.address_block = kV2Inet6Block;
  }
  return layout;
}

template <typename Tlvs>
size_t V2Size(const SocketAddress& src, const SocketAddress& dst, const Tlvs& tlvs) {
  V2Layout layout = LayoutFor(src, dst);
  size_t fixed = kProxyV2FixedSize + layout.address_block;
  bool ok = false;
  size_t tlv_bytes = TlvsSize(tlvs, kMaxProxyV2HeaderSize - fixed, &ok);
  if (!ok) return 0;
  return fixed + tlv_bytes;
}

template <typename Tlvs>
size_t EncodeV2(char* out, size_t cap, const SocketAddress& src, const SocketAddress& dst,
                const Tlvs& tlvs) {
  size_t total = V2Size(src, dst, tlvs);
  if (total == 0 || total > cap) return 0;
  V2Layout layout = LayoutFor(src, dst);
  char* p = StoreBytes(out, kV2Signature);
  *p++ = static_cast<char>(layout.ver_cmd);
  *p++ = static_cast<char>(layout.fam);
  p = StoreBe16(p, static_cast<uint16_t>(total - kProxyV2FixedSize));
  if (layout.fam == kV2FamTcp4) {
    p = StoreBytes(p, src.IpBytes());
    p = StoreBytes(p, dst.IpBytes());
  } else if (layout.fam == kV2FamTcp6) {
    p = StoreIpv6Bytes(p, src);
    p = StoreIpv6Bytes(p, dst);
  }
  if (layout.fam != kV2FamUnspec) {
    p = StoreBe16(p, src.port());
    p = StoreBe16(p, dst.port());
  }
  char* crc_value = nullptr;
  p = StoreTlvs(p, tlvs, &crc_value);
  if (crc_value != nullptr) StoreBe32(crc_value, Crc32c(std::string_view(out, total)));
  return total;
}

// ---- Decoding helpers ----

ProxyDecodeResult NeedMore() { return {}; }

ProxyDecodeResult NotProxy(std::string_view why) {
  ProxyDecodeResult r;
  r.status = ProxyDecodeStatus::kNotProxy;
  r.error = why;
  return r;
}

ProxyDecodeResult Invalid(std::string_view why) {
  ProxyDecodeResult r;
  r.status = ProxyDecodeStatus::kInvalid;
  r.error = why;
  return r;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Strict dotted quad: four decimal numbers 0-255, no leading zeros, nothing else.
bool ParseV1Ipv4(std::string_view text, char out[4]) {
  size_t i = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (i >= text.size() || text[i] != '.') return false;
      ++i;
    }
    size_t start = i;
    uint32_t value = 0;
    while (i < text.size() && IsDigit(text[i]) && i - start < 3) {
      value = value * 10 + static_cast<uint32_t>(text[i] - '0');
      ++i;
    }
    if (i == start || value > 255) return false;
    if (text[start] == '0' && i - start > 1) return false;
    out[part] = static_cast<char>(value);
  }
  return i == text.size();
}

// IPv6 text as inet_pton takes it (hex groups, one "::", optional trailing dotted quad).
bool ParseV1Ipv6(std::string_view text, char out[16]) {
  char buf[INET6_ADDRSTRLEN];  // 46: the longest form plus NUL
  if (text.size() < 2 || text.size() >= sizeof(buf)) return false;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  return inet_pton(AF_INET6, buf, out) == 1;
}

// 0-65535, decimal, no leading zeros ("0" itself is fine).
bool ParseV1Port(std::string_view text, uint16_t* port) {
  if (text.empty() || text.size() > 5) return false;
  if (text[0] == '0' && text.size() > 1) return false;
  uint32_t value = 0;
  for (char c : text) {
    if (!IsDigit(c)) return false;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value > 65535) return false;
  *port = static_cast<uint16_t>(value);
  return true;
}

// data starts with "PROXY".
ProxyDecodeResult DecodeV1(std::string_view data) {
  // Find the CRLF, refusing early anything that can never become a valid line, so that a verdict
  // on a prefix is the verdict on the whole.
  size_t line_end = std::string_view::npos;
  size_t scan = std::min(data.size(), kMaxProxyV1HeaderSize);
  for (size_t i = 0; i < scan; ++i) {
    char c = data[i];
    if (c == '\r') {
      if (i + 1 >= kMaxProxyV1HeaderSize) return Invalid("v1: no CRLF within 107 bytes");
      if (i + 1 >= data.size()) return NeedMore();
      if (data[i + 1] != '\n') return Invalid("v1: CR not followed by LF");
      line_end = i;
      break;
    }
    if (c == '\n') return Invalid("v1: LF without CR");
    if (c < 0x20 || c > 0x7E) return Invalid("v1: non-printable byte");
    if (i == kV1Signature.size() && c != ' ') return Invalid("v1: no space after PROXY");
  }
  if (line_end == std::string_view::npos) {
    if (data.size() >= kMaxProxyV1HeaderSize) return Invalid("v1: no CRLF within 107 bytes");
    return NeedMore();
  }

  std::string_view line = data.substr(0, line_end);
  if (line.size() <= kV1Signature.size()) return Invalid("v1: no protocol");
  std::string_view rest = line.substr(kV1Signature.size() + 1);  // after "PROXY "

  ProxyDecodeResult result;
  result.header.version = 1;
  constexpr std::string_view kUnknown = "UNKNOWN";
  if (rest.substr(0, kUnknown.size()) == kUnknown) {
    // "PROXY UNKNOWN" alone, or followed by a space and anything (which the receiver must ignore).
    if (rest.size() > kUnknown.size() && rest[kUnknown.size()] != ' ') {
      return Invalid("v1: unknown protocol");
    }
    result.status = ProxyDecodeStatus::kComplete;
    result.consumed = line_end + 2;
    return result;
  }

  // Exactly five fields separated by single spaces: proto src dst sport dport.
  std::string_view fields[5];
  size_t count = 0;
  size_t start = 0;
  while (true) {
    size_t space = rest.find(' ', start);
    std::string_view field = rest.substr(
        start, space == std::string_view::npos ? std::string_view::npos : space - start);
    if (field.empty()) return Invalid("v1: empty field (double, leading or trailing space)");
    if (count == 5) return Invalid("v1: too many fields");
    fields[count++] = field;
    if (space == std::string_view::npos) break;
    start = space + 1;
  }
  if (count != 5) return Invalid("v1: too few fields");

  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  if (fields[0] == "TCP4") {
    char src[4], dst[4];
    if (!ParseV1Ipv4(fields[1], src)) return Invalid("v1: bad TCP4 source address");
    if (!ParseV1Ipv4(fields[2], dst)) return Invalid("v1: bad TCP4 destination address");
    if (!ParseV1Port(fields[3], &src_port)) return Invalid("v1: bad source port");
    if (!ParseV1Port(fields[4], &dst_port)) return Invalid("v1: bad destination port");
    result.header.family = ProxyFamily::kInet;
    result.header.source = SocketAddress::FromBytes(std::string_view(src, 4), src_port);
    result.header.destination = SocketAddress::FromBytes(std::string_view(dst, 4), dst_port);
  } else if (fields[0] == "TCP6") {
    char src[16], dst[16];
    if (!ParseV1Ipv6(fields[1], src)) return Invalid("v1: bad TCP6 source address");
    if (!ParseV1Ipv6(fields[2], dst)) return Invalid("v1: bad TCP6 destination address");
    if (!ParseV1Port(fields[3], &src_port)) return Invalid("v1: bad source port");
    if (!ParseV1Port(fields[4], &dst_port)) return Invalid("v1: bad destination port");
    result.header.family = ProxyFamily::kInet6;
    result.header.source = SocketAddress::FromBytes(std::string_view(src, 16), src_port);
    result.header.destination = SocketAddress::FromBytes(std::string_view(dst, 16), dst_port);
  } else {
    return Invalid("v1: unknown protocol");
  }
  result.header.transport = ProxyTransport::kStream;
  result.status = ProxyDecodeStatus::kComplete;
  result.consumed = line_end + 2;
  return result;
}

// Checks that sub-TLVs exactly fill an SSL TLV's value; calls visit(type, value) for each.
template <typename Visit>
std::string_view WalkSslTlv(std::string_view value, Visit visit) {
  if (value.size() < kSslFixedSize) return "v2: SSL TLV shorter than 5 bytes";
  size_t pos = kSslFixedSize;
  while (pos < value.size()) {
    if (value.size() - pos < kTlvHeaderSize) return "v2: truncated SSL sub-TLV header";
    uint8_t type = static_cast<uint8_t>(value[pos]);
    size_t length = LoadBe16(value.data() + pos + 1);
    pos += kTlvHeaderSize;
    if (length > value.size() - pos) return "v2: SSL sub-TLV overruns the SSL TLV";
    visit(type, value.substr(pos, length));
    pos += length;
  }
  return {};
}

// data starts with the 12-byte v2 signature.
ProxyDecodeResult DecodeV2(std::string_view data) {
  if (data.size() <= 12) return NeedMore();
  uint8_t ver_cmd = static_cast<uint8_t>(data[12]);
  if ((ver_cmd & 0xF0) != kV2VersionNibble) return Invalid("v2: version is not 2");
  uint8_t command = ver_cmd & 0x0F;
  if (command != kV2CommandLocal && command != kV2CommandProxy) {
    return Invalid("v2: command is neither LOCAL nor PROXY");
  }
  if (data.size() <= 13) return NeedMore();
  uint8_t fam = static_cast<uint8_t>(data[13]);
  ProxyFamily family = static_cast<ProxyFamily>(fam >> 4);
  ProxyTransport transport = static_cast<ProxyTransport>(fam & 0x0F);
  size_t address_block = 0;
  switch (fam) {
    case 0x00:
      break;
    case 0x11:
    case 0x12:
      address_block = kV2Inet4Block;
      break;
    case 0x21:
    case 0x22:
      address_block = kV2Inet6Block;
      break;
    case 0x31:
    case 0x32:
      address_block = kV2UnixBlock;
      break;
    default:
      return Invalid("v2: bad address family or transport");
  }
  if (data.size() < kProxyV2FixedSize) return NeedMore();
  size_t length = LoadBe16(data.data() + 14);
  size_t total = kProxyV2FixedSize + length;
  if (total > kMaxProxyV2HeaderSize) return Invalid("v2: header longer than 16 KiB");
  if (length < address_block) return Invalid("v2: length shorter than the address block");
  if (data.size() < total) return NeedMore();

  ProxyDecodeResult result;
  ProxyHeader& header = result.header;
  header.version = 2;
  header.is_local = command == kV2CommandLocal;
  header.family = family;
  header.transport = transport;
  const char* block = data.data() + kProxyV2FixedSize;
  if (!header.is_local && (family == ProxyFamily::kInet || family == ProxyFamily::kInet6)) {
    size_t ip = family == ProxyFamily::kInet ? 4 : 16;
    uint16_t src_port = LoadBe16(block + 2 * ip);
    uint16_t dst_port = LoadBe16(block + 2 * ip + 2);
    header.source = SocketAddress::FromBytes(std::string_view(block, ip), src_port);
    header.destination = SocketAddress::FromBytes(std::string_view(block + ip, ip), dst_port);
  }

  // TLVs exactly fill [16 + address_block, total).
  size_t pos = kProxyV2FixedSize + address_block;
  size_t crc_offset = 0;  // of the CRC32C value; 0 = none
  while (pos < total) {
    if (total - pos < kTlvHeaderSize) return Invalid("v2: truncated TLV header");
    uint8_t type = static_cast<uint8_t>(data[pos]);
    size_t value_size = LoadBe16(data.data() + pos + 1);
    size_t value_pos = pos + kTlvHeaderSize;
    if (value_size > total - value_pos) return Invalid("v2: TLV overruns the header");
    std::string_view value = data.substr(value_pos, value_size);
    switch (type) {
      case kPp2TypeCrc32c:
        if (value_size != 4) return Invalid("v2: CRC32C TLV is not 4 bytes");
        if (crc_offset != 0) return Invalid("v2: more than one CRC32C TLV");
        crc_offset = value_pos;
        break;
      case kPp2TypeUniqueId:
        if (value_size > kMaxProxyUniqueIdSize) return Invalid("v2: UNIQUE_ID over 128 bytes");
        break;
      case kPp2TypeSsl: {
        std::string_view error = WalkSslTlv(value, [](uint8_t, std::string_view) {});
        if (!error.empty()) return Invalid(error);
        break;
      }
      default:
        break;
    }
    header.tlvs.push_back(ProxyTlv{type, std::string(value)});
    pos = value_pos + value_size;
  }

  if (crc_offset != 0) {
    static constexpr char kZeros[4] = {0, 0, 0, 0};
    uint32_t reg = Crc32cRaw(0xFFFFFFFFu, data.data(), crc_offset);
    reg = Crc32cRaw(reg, kZeros, 4);
    reg = Crc32cRaw(reg, data.data() + crc_offset + 4, total - crc_offset - 4);
    if ((reg ^ 0xFFFFFFFFu) != LoadBe32(data.data() + crc_offset)) {
      return Invalid("v2: CRC32C mismatch");
    }
  }
  result.status = ProxyDecodeStatus::kComplete;
  result.consumed = total;
  return result;
}

}  // namespace

// ---- CRC32C ----

uint32_t Crc32cExtend(uint32_t crc, std::string_view data) {
  return Crc32cRaw(crc ^ 0xFFFFFFFFu, data.data(), data.size()) ^ 0xFFFFFFFFu;
}

uint32_t Crc32c(std::string_view data) { return Crc32cExtend(0, data); }

// ---- SSL TLV ----

const ProxyTlv* ProxySslInfo::Find(uint8_t type) const {
  for (const ProxyTlv& tlv : sub_tlvs) {
    if (tlv.type == type) return &tlv;
  }
  return nullptr;
}

size_t ProxySslTlvValueSize(std::span<const ProxyTlvView> sub_tlvs) {
  size_t total = kSslFixedSize;
  for (const ProxyTlvView& tlv : sub_tlvs) total += kTlvHeaderSize + tlv.value.size();
  return total;
}

size_t EncodeProxySslTlvValueInto(char* out, size_t cap, uint8_t client, uint32_t verify,
                                  std::span<const ProxyTlvView> sub_tlvs) {
  for (const ProxyTlvView& tlv : sub_tlvs) {
    if (tlv.value.size() > kMaxTlvValue) return 0;
  }
  size_t total = ProxySslTlvValueSize(sub_tlvs);
  if (total > cap) return 0;
  char* p = out;
  *p++ = static_cast<char>(client);
  p = StoreBe32(p, verify);
  for (const ProxyTlvView& tlv : sub_tlvs) {
    *p++ = static_cast<char>(tlv.type);
    p = StoreBe16(p, static_cast<uint16_t>(tlv.value.size()));
    p = StoreBytes(p, tlv.value);
  }
  return total;
}

ProxyTlv MakeProxySslTlv(uint8_t client, uint32_t verify, std::span<const ProxyTlvView> sub_tlvs) {
  ProxyTlv tlv{kPp2TypeSsl, std::string(ProxySslTlvValueSize(sub_tlvs), '\0')};
  size_t written =
      EncodeProxySslTlvValueInto(tlv.value.data(), tlv.value.size(), client, verify, sub_tlvs);
  tlv.value.resize(written);
  return tlv;
}

absl::StatusOr<ProxySslInfo> ParseProxySslTlv(std::string_view value) {
  ProxySslInfo info;
  std::string_view error = WalkSslTlv(value, [&info](uint8_t type, std::string_view sub) {
    info.sub_tlvs.push_back(ProxyTlv{type, std::string(sub)});
  });
  if (!error.empty()) return absl::InvalidArgumentError(std::string(error));
  info.client = static_cast<uint8_t>(value[0]);
  info.verify = LoadBe32(value.data() + 1);
  return info;
}

// ---- Encoding ----

size_t EncodeProxyV1Into(char* out, size_t cap, const SocketAddress& src,
                         const SocketAddress& dst) {
  char line[128];  // the longest valid line is 104 bytes (TCP6); checked below anyway
  char* p = line;
  bool both_valid = src.valid() && dst.valid() && src.family() == dst.family();
  if (!both_valid) {
    p = StoreBytes(p, "PROXY UNKNOWN\r\n");
  } else if (src.is_v4()) {
    p = StoreBytes(p, "PROXY TCP4 ");
    for (const SocketAddress* a : {&src, &dst}) {
      std::string_view ip = a->IpBytes();
      for (int i = 0; i < 4; ++i) {
        p = StoreDecimal(p, static_cast<uint8_t>(ip[i]));
        *p++ = i < 3 ? '.' : ' ';
      }
    }
  } else {
    p = StoreBytes(p, "PROXY TCP6 ");
    for (const SocketAddress* a : {&src, &dst}) {
      char text[INET6_ADDRSTRLEN];
      if (inet_ntop(AF_INET6, a->IpBytes().data(), text, sizeof(text)) == nullptr) return 0;
      p = StoreBytes(p, text);
      *p++ = ' ';
    }
  }
  if (both_valid) {
    p = StoreDecimal(p, src.port());
    *p++ = ' ';
    p = StoreDecimal(p, dst.port());
    *p++ = '\r';
    *p++ = '\n';
  }
  size_t size = static_cast<size_t>(p - line);
  if (size > cap || size > kMaxProxyV1HeaderSize) return 0;
  std::memcpy(out, line, size);
  return size;
}

std::string EncodeProxyV1(const SocketAddress& src, const SocketAddress& dst) {
  char line[kMaxProxyV1HeaderSize];
  return std::string(line, EncodeProxyV1Into(line, sizeof(line), src, dst));
}

size_t ProxyV2EncodedSize(const SocketAddress& src, const SocketAddress& dst,
                          std::span<const ProxyTlvView> tlvs) {
  return V2Size(src, dst, tlvs);
}

size_t EncodeProxyV2Into(char* out, size_t cap, const SocketAddress& src, const SocketAddress& dst,
                         std::span<const ProxyTlvView> tlvs) {
  return EncodeV2(out, cap, src, dst, tlvs);
}

std::string EncodeProxyV2(const SocketAddress& src, const SocketAddress& dst,
                          const std::vector<ProxyTlv>& tlvs) {
  size_t size = V2Size(src, dst, tlvs);
  if (size == 0) return {};
  std::string out(size, '\0');
  out.resize(EncodeV2(out.data(), out.size(), src, dst, tlvs));
  return out;
}

// ---- Decoding ----

const ProxyTlv* ProxyHeader::FindTlv(uint8_t type) const {
  for (const ProxyTlv& tlv : tlvs) {
    if (tlv.type == type) return &tlv;
  }
  return nullptr;
}

ProxyDecodeResult DecodeProxyHeader(std::string_view data) {
  if (data.empty()) return NeedMore();
  if (data[0] == kV1Signature[0]) {
    size_t n = std::min(data.size(), kV1Signature.size());
    if (data.substr(0, n) != kV1Signature.substr(0, n)) return NotProxy("no PROXY signature");
    if (data.size() <= kV1Signature.size()) return NeedMore();
    return DecodeV1(data);
  }
  if (data[0] == kV2Signature[0]) {
    size_t n = std::min(data.size(), kV2Signature.size());
    if (data.substr(0, n) != kV2Signature.substr(0, n)) return NotProxy("no PROXY signature");
    if (data.size() <= kV2Signature.size()) return NeedMore();
    return DecodeV2(data);
  }
  return NotProxy("no PROXY signature");
}

std::string_view ProxyDecodeStatusName(ProxyDecodeStatus status) {
  switch (status) {
    case ProxyDecodeStatus::kNeedMore:
      return "need_more";
    case ProxyDecodeStatus::kNotProxy:
      return "not_proxy";
    case ProxyDecodeStatus::kInvalid:
      return "invalid";
    case ProxyDecodeStatus::kComplete:
      return "complete";
  }
  return "unknown";
}

}  // namespace edge::net
