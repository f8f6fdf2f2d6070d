#pragma once
// Request path normalisation: gw7 turns the path into the one reading that it routes on, shows to
// the filters and sends upstream, so that the router and the upstream act on the same resource.
// Without it a client reaches "/admin" past its route through a path the router reads one way and
// the backend another ("/public/..%2Fadmin", "/%61dmin", "//admin", "/admin;x/", ...).
//
// What NormalizePath does, in this order (the refusals are 400 at the call site, each with its
// kind for gw7_errors_total):
//  1. A byte that is not RFC 3986 pchar or '/' (controls, space, '#', '?', '"', bytes >= 0x80,
//     ...) and a '%' not followed by two hex digits: kBadPath. The HTTP parser already refuses
//     these; the normaliser refuses them again so that it is safe on its own (fuzzing, HTTP/2).
//     "%00": kBadPath (a NUL ends the path for a C backend).
//  2. "%XX" of an unreserved character (ALPHA DIGIT - . _ ~) is decoded ("/%63atalog" is
//     "/catalog", "%2e" is "."); every other escape is kept with upper-case hex ("%3a" -> "%3A",
//     RFC 3986 6.2.2.1/6.2.2.2). Decoding happens once: "%252F" stays "%252F".
//  3. "%2F" and "%5C" (encoded '/' and '\'): kEscapedSlash, or with escaped_slashes = kKeep
//     forwarded still encoded (upper-case hex), never decoded. A literal '\': kBackslash (Windows
//     servers and some frameworks read it as '/').
//  4. Repeated slashes are merged ("//a///b" -> "/a/b") unless merge_slashes is false.
//  5. A dot segment "." or ".." (literal or encoded, as decoded by step 2): kDotSegment. gw7 does
//     not resolve them: a client that sends them is not an ordinary client.
//  6. ';' (Java servlet containers drop ";..." from every segment before matching, nginx does
//     not): with path_parameters = kReject any ';' is kPathParameter; with kStrip ";..." up to the
//     next '/' is removed from every segment (before steps 4 and 5 look at the segment). "%3B" is
//     never decoded and always kPathParameter.
// The query is not part of the path and is not touched.
//
// Cost: a path that needs no change (the common case: plain characters, single slashes) is
// checked in one pass over a lookup table and returned as is, without a copy; only a path with
// '%', ';', "//" or something to refuse takes the slow pass, which writes into a caller-owned
// buffer (one per connection, so its capacity is reused).

#include <string>
#include <string_view>

#include "l7/config/gateway_config.h"

namespace edge::l7 {

enum class PathRefusal {
  kNone,
  kBadPath,        // bad byte, malformed or NUL escape
  kEscapedSlash,   // %2F / %5C with escaped_slashes = reject
  kBackslash,      // a literal '\'
  kDotSegment,     // "." or ".." (also encoded)
  kPathParameter,  // ';' with path_parameters = reject, or "%3B"
};

// The kind for gw7_errors_total: "bad_path", "escaped_slash", "backslash", "dot_segment",
// "path_parameter" ("" for kNone).
std::string_view RefusalKind(PathRefusal refusal);
// A one-line reason for the client's 400 body.
std::string_view RefusalMessage(PathRefusal refusal);

// Normalises `path` (as parsed: percent-encoded, without the query). On kNone, *out is the
// normalised path: a view of `path` itself when nothing changed, else of *buffer (valid until the
// next call with that buffer). An empty path (asterisk-form "OPTIONS *") stays empty; a non-empty
// path must start with '/'.
PathRefusal NormalizePath(std::string_view path, const PathNormalization& options,
                          std::string* buffer, std::string_view* out);

}  // namespace edge::l7
