#pragma once
// A route's `compress = ["application/json", "text/*"]` and `compress_min_bytes` (README
// "Compression"), read and checked at load.
//
// Each entry is a media type "type/subtype" or "type/*" (tokens, compared case-insensitively,
// parameters of the response's Content-Type ignored); "*/*" is refused (images, archives and video
// are already compressed). compress_min_bytes (default 1024, a size such as "1KiB") skips
// responses whose Content-Length says they are smaller: a few hundred bytes gain nothing and cost
// a gzip header. compress_brotli (default false) offers br next to gzip: about 6% smaller than
// gzip on JSON, but about 0.9 MiB of encoder state per response being compressed instead of
// gzip's 0.3 MiB (body_encoders.h), so a route opts in.

#include <cstdint>
#include <string>
#include <vector>

#include "common/config/table_reader.h"

namespace edge::l7 {

struct CompressionConfig {
  std::vector<std::string> types;  // lower case; "text/*" matches any text subtype
  uint64_t min_bytes = 1024;
  bool brotli = false;

  // Whether a Content-Type value (parameters allowed) is one of `types`.
  bool Compressible(std::string_view content_type) const;
};

// Reads compress, compress_min_bytes, compress_brotli of a route table; false when `compress` is
// absent (then the other two are refused if present).
bool ReadCompressionConfig(config::TableReader& route, CompressionConfig* out);

}  // namespace edge::l7
