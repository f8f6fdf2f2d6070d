#pragma once
// Content negotiation by Accept-Encoding (RFC 9110 12.5.3), for response compression.
//
//   absent or empty        identity (a client that says nothing gets what it surely understands)
//   "gzip", "x-gzip"       gzip acceptable with q = 1 (or the given q)
//   "gzip;q=0"             gzip refused, even when "*" would allow it
//   "*;q=0.5"              any coding not named otherwise, with that q
//   "identity;q=0"         ignored: gw7 still sends identity when it compresses nothing (RFC 9110
//                          allows a 406, which helps nobody)
// The coding with the highest q > 0 among those gw7 offers wins; on a tie br before gzip (br is
// smaller for text). Names are case-insensitive; q is "0", "1" or "0." with up to three digits,
// "1." with zeros; an element with any other parameter value is ignored as a whole (nothing is
// guessed from a malformed list).

#include <string_view>

namespace edge::l7 {

enum class ContentCoding { kIdentity, kGzip, kBrotli };

// Parses one field value; several Accept-Encoding fields are one list joined with ",".
ContentCoding ChooseContentCoding(std::string_view accept_encoding, bool offer_brotli);

// A q-value in thousandths (0..1000), or -1 when `text` is not a valid qvalue.
int ParseQValue(std::string_view text);

}  // namespace edge::l7
