// Fuzzes the PROXY protocol codec (common/net/proxy_protocol.h).
//
// The input is decoded as received bytes. Checked on every input:
//  - a complete header re-encodes (v1 or v2) into something that decodes to the same header; for
//    v1 TCP4 and for v2 PROXY/STREAM/INET the re-encoding is byte-for-byte the original;
//  - the decoder's verdict on a prefix (the input split in two pieces, at two points) is either
//    kNeedMore or exactly its verdict on the whole, and a complete header minus its last byte
//    needs more;
//  - the same bytes read as an encoder recipe (addresses, ports, TLVs) encode into headers that
//    decode back to what was encoded.
// Any violation aborts, which libFuzzer reports as a crash.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/net/proxy_protocol.h"

using edge::net::DecodeProxyHeader;
using edge::net::EncodeProxyV1;
using edge::net::EncodeProxyV2;
using edge::net::EncodeProxyV2Into;
using edge::net::ProxyDecodeResult;
using edge::net::ProxyDecodeStatus;
using edge::net::ProxyFamily;
using edge::net::ProxyHeader;
using edge::net::ProxyTlv;
using edge::net::ProxyTlvView;
using edge::net::ProxyTransport;
using edge::net::ProxyV2EncodedSize;
using edge::net::SocketAddress;

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_proxy: %s\n", what);
    std::abort();
  }
}

bool SameResult(const ProxyDecodeResult& a, const ProxyDecodeResult& b) {
  return a.status == b.status && a.consumed == b.consumed && a.error == b.error &&
         a.header == b.header;
}

// TLVs equal, except CRC32C values (recomputed whenever the bytes they cover change).
bool SameTlvs(const std::vector<ProxyTlv>& a, const std::vector<ProxyTlv>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].type != b[i].type) return false;
    if (a[i].type != edge::net::kPp2TypeCrc32c && a[i].value != b[i].value) return false;
  }
  return true;
}

void CheckRoundTrip(std::string_view input, const ProxyDecodeResult& r) {
  const ProxyHeader& h = r.header;
  std::string_view original = input.substr(0, r.consumed);
  Check(r.consumed > 0 && r.consumed <= input.size(), "consumed out of range");
  Check(r.error.empty(), "complete with an error");
  if (h.version == 1) {
    Check(h.tlvs.empty() && !h.is_local, "v1 with TLVs or LOCAL");
    Check(r.consumed <= edge::net::kMaxProxyV1HeaderSize, "v1 longer than 107 bytes");
    std::string again_bytes = EncodeProxyV1(h.source, h.destination);
    ProxyDecodeResult again = DecodeProxyHeader(again_bytes);
    Check(again.status == ProxyDecodeStatus::kComplete, "v1 re-encoding does not decode");
    Check(again.consumed == again_bytes.size(), "v1 re-encoding not consumed whole");
    Check(again.header == h, "v1 round trip changed the header");
    if (h.family == ProxyFamily::kInet) Check(again_bytes == original, "v1 TCP4 bytes differ");
    if (h.family == ProxyFamily::kUnspec) {
      Check(!h.has_addresses(), "v1 UNKNOWN with addresses");
      Check(again_bytes == "PROXY UNKNOWN\r\n", "v1 UNKNOWN re-encoding");
    }
    return;
  }
  Check(h.version == 2, "version neither 1 nor 2");
  Check(r.consumed <= edge::net::kMaxProxyV2HeaderSize, "v2 longer than the limit");
  Check(h.source.valid() == h.destination.valid(), "one address set, not the other");
  if (h.has_addresses()) {
    Check(!h.is_local, "LOCAL with addresses");
    Check(h.family == (h.source.is_v4() ? ProxyFamily::kInet : ProxyFamily::kInet6),
          "address family differs from the header's");
    Check(h.source.family() == h.destination.family(), "mixed families decoded");
  }
  for (const ProxyTlv& tlv : h.tlvs) {
    if (tlv.type != edge::net::kPp2TypeSsl) continue;
    auto ssl = edge::net::ParseProxySslTlv(tlv.value);  // the decoder already validated it
    Check(ssl.ok(), "accepted SSL TLV does not parse");
    std::vector<ProxyTlvView> subs(ssl->sub_tlvs.begin(), ssl->sub_tlvs.end());
    Check(edge::net::MakeProxySslTlv(ssl->client, ssl->verify, subs) == tlv,
          "SSL TLV does not rebuild byte for byte");
  }
  std::string again_bytes = EncodeProxyV2(h.source, h.destination, h.tlvs);
  Check(!again_bytes.empty(), "v2 re-encoding failed");
  char buf[edge::net::kMaxProxyV2HeaderSize];
  std::vector<ProxyTlvView> views(h.tlvs.begin(), h.tlvs.end());
  size_t size = ProxyV2EncodedSize(h.source, h.destination, views);
  Check(size == again_bytes.size(), "ProxyV2EncodedSize disagrees");
  Check(EncodeProxyV2Into(buf, size - 1, h.source, h.destination, views) == 0,
        "EncodeProxyV2Into wrote into too small a buffer");
  Check(EncodeProxyV2Into(buf, size, h.source, h.destination, views) == size &&
            std::string_view(buf, size) == again_bytes,
        "EncodeProxyV2Into differs from EncodeProxyV2");
  ProxyDecodeResult again = DecodeProxyHeader(again_bytes);
  Check(again.status == ProxyDecodeStatus::kComplete, "v2 re-encoding does not decode");
  Check(again.consumed == again_bytes.size(), "v2 re-encoding not consumed whole");
  Check(SameTlvs(again.header.tlvs, h.tlvs), "v2 round trip changed the TLVs");
  if (h.has_addresses()) {
    Check(!again.header.is_local && again.header.family == h.family &&
              again.header.transport == ProxyTransport::kStream &&
              again.header.source == h.source && again.header.destination == h.destination,
          "v2 round trip changed the addresses");
    if (h.transport == ProxyTransport::kStream) Check(again_bytes == original, "v2 bytes differ");
  } else {
    Check(again.header.is_local && again.header.family == ProxyFamily::kUnspec &&
              !again.header.has_addresses(),
          "v2 without addresses did not re-encode as LOCAL");
  }
}

// The verdict on a prefix is kNeedMore or the verdict on the whole.
void CheckPrefix(std::string_view input, size_t split, const ProxyDecodeResult& whole) {
  ProxyDecodeResult part = DecodeProxyHeader(input.substr(0, split));
  if (part.status == ProxyDecodeStatus::kNeedMore) {
    Check(part.consumed == 0 && part.error.empty(), "kNeedMore with data");
    return;
  }
  Check(SameResult(part, whole), "verdict on a prefix differs from the whole");
}

// Reads the input as an encoder recipe: family selector, addresses, ports, then TLVs as
// (type, one-byte length, value). Encodes v1 and v2 and decodes them back.
void CheckEncoders(std::string_view in) {
  auto take = [&in](size_t n) {
    std::string_view out = in.substr(0, std::min(n, in.size()));
    in.remove_prefix(out.size());
    return std::string(out) + std::string(n - out.size(), '\0');
  };
  auto address = [&take](int selector) {
    std::string ip = take(selector == 1 ? 4 : selector == 2 ? 16 : 0);
    std::string port = take(2);
    uint16_t p =
        static_cast<uint16_t>((static_cast<uint8_t>(port[0]) << 8) | static_cast<uint8_t>(port[1]));
    return SocketAddress::FromBytes(ip, p);  // selector 0 or 3: invalid
  };
  if (in.empty()) return;
  uint8_t selector = static_cast<uint8_t>(in[0]);
  in.remove_prefix(1);
  SocketAddress src = address(selector & 3);
  SocketAddress dst = address((selector >> 2) & 3);
  std::vector<ProxyTlv> tlvs;
  while (in.size() >= 2 && tlvs.size() < 16) {
    uint8_t type = static_cast<uint8_t>(in[0]);
    size_t length = static_cast<uint8_t>(in[1]);
    in.remove_prefix(2);
    if (selector & 0x80) length *= 67;  // sometimes big enough to hit the size limit
    tlvs.push_back(ProxyTlv{type, take(length)});
  }

  bool both = src.valid() && dst.valid();
  std::string v1 = EncodeProxyV1(src, dst);
  ProxyDecodeResult d1 = DecodeProxyHeader(v1);
  Check(d1.status == ProxyDecodeStatus::kComplete && d1.consumed == v1.size(),
        "encoded v1 does not decode");
  if (both && src.family() == dst.family()) {
    Check(d1.header.source == src && d1.header.destination == dst, "v1 addresses changed");
  } else {
    Check(!d1.header.has_addresses(), "v1 UNKNOWN expected");
  }

  std::string v2 = EncodeProxyV2(src, dst, tlvs);
  if (v2.empty()) {
    size_t crcs = 0;
    size_t bytes = 16 + (!both ? 0 : src.is_v4() && dst.is_v4() ? 12 : 36);
    for (const ProxyTlv& t : tlvs) {
      bool crc = t.type == edge::net::kPp2TypeCrc32c;
      crcs += crc;
      bytes += 3 + (crc ? 4 : t.value.size());
    }
    Check(crcs > 1 || bytes > edge::net::kMaxProxyV2HeaderSize,
          "v2 encoding refused a header that fits");
    return;
  }
  ProxyDecodeResult d2 = DecodeProxyHeader(v2);
  if (d2.status == ProxyDecodeStatus::kInvalid) {
    // The encoder copies TLV values blindly; only semantic TLV checks may refuse them.
    bool explained = false;
    for (const ProxyTlv& t : tlvs) {
      if (t.type == edge::net::kPp2TypeUniqueId && t.value.size() > 128) explained = true;
      if (t.type == edge::net::kPp2TypeSsl && !edge::net::ParseProxySslTlv(t.value).ok()) {
        explained = true;
      }
    }
    Check(explained, "encoded v2 refused for no TLV reason");
    return;
  }
  Check(d2.status == ProxyDecodeStatus::kComplete && d2.consumed == v2.size(),
        "encoded v2 does not decode");
  Check(SameTlvs(d2.header.tlvs, tlvs), "v2 TLVs changed");
  if (!both) {
    Check(d2.header.is_local && !d2.header.has_addresses(), "v2 LOCAL expected");
  } else if (src.family() == dst.family()) {
    Check(d2.header.source == src && d2.header.destination == dst, "v2 addresses changed");
  } else {
    Check(d2.header.family == ProxyFamily::kInet6 && d2.header.source.port() == src.port() &&
              d2.header.destination.port() == dst.port(),
          "v2 mixed families not mapped to IPv6");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  ProxyDecodeResult whole = DecodeProxyHeader(input);
  switch (whole.status) {
    case ProxyDecodeStatus::kComplete:
      CheckRoundTrip(input, whole);
      Check(DecodeProxyHeader(input.substr(0, whole.consumed)).header == whole.header,
            "header alone decodes differently");
      Check(DecodeProxyHeader(input.substr(0, whole.consumed - 1)).status ==
                ProxyDecodeStatus::kNeedMore,
            "header minus its last byte does not need more");
      break;
    case ProxyDecodeStatus::kNeedMore:
      Check(whole.consumed == 0 && whole.error.empty(), "kNeedMore with data");
      break;
    case ProxyDecodeStatus::kInvalid:
    case ProxyDecodeStatus::kNotProxy:
      Check(whole.consumed == 0 && !whole.error.empty(), "refusal without a reason");
      break;
  }
  if (size > 0) {
    CheckPrefix(input, size / 2, whole);
    CheckPrefix(input, (static_cast<size_t>(data[size - 1]) * 257 + size) % (size + 1), whole);
  }
  CheckEncoders(input);
  return 0;
}
