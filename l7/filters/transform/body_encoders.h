#pragma once
// Streaming response-body compressors behind ResponseBodyEncoder (l7/filters/filter.h): gzip
// (zlib) and br (Debian's libbrotli). Each piece handed to Encode is compressed and flushed at
// once (Z_SYNC_FLUSH / BROTLI_OPERATION_FLUSH): a slow or streaming upstream (server-sent events,
// NDJSON) reaches the client without waiting for more input, and what the encoder keeps between
// pieces is its window (32 KiB for gzip, 4 MiB at most for br's lgwin 22; here lgwin 18: 256 KiB),
// never the body. The flush costs a few bytes per piece; pieces are the upstream's reads (up to
// 64 KiB), so the ratio barely changes.

#include <memory>

#include "l7/filters/filter.h"

namespace edge::l7 {

// `level`: zlib's 1..9 (6 is zlib's default). Null if zlib cannot allocate its state.
std::unique_ptr<ResponseBodyEncoder> MakeGzipEncoder(int level = 6);
// `quality`: brotli's 0..11 (5 suits on-the-fly compression). Null on allocation failure.
std::unique_ptr<ResponseBodyEncoder> MakeBrotliEncoder(int quality = 5);

}  // namespace edge::l7
