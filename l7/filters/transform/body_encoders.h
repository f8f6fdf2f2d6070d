#pragma once
// Streaming response-body compressors behind ResponseBodyEncoder (l7/filters/filter.h): gzip
// (zlib) and br (Debian's libbrotli). Each piece handed to Encode is compressed and flushed at
// once (Z_SYNC_FLUSH / BROTLI_OPERATION_FLUSH): a slow or streaming upstream (server-sent events,
// NDJSON) reaches the client without waiting for more input, and what the encoder keeps between
// pieces is its state, never the body. The flush costs a few bytes per piece; pieces are the
// upstream's reads (up to 64 KiB), so the ratio barely changes.
//
// Memory per compressing response (measured, 300 KB of JSON in 16 KiB pieces): gzip level 6 with
// a 32 KiB window about 300 KiB; br quality 5 with a 64 KiB window (lgwin 16) about 0.9 MiB (lgwin
// 18 would be 1.9 MiB for 0.4% less output). With a known body size the window shrinks to fit it
// (a 2 KiB body needs no 32 KiB window), like nginx's gzip.

#include <cstdint>
#include <memory>

#include "l7/filters/filter.h"

namespace edge::l7 {

// `level`: zlib's 1..9 (6 is zlib's default). `size_hint`: the body's length when known (0:
// unknown). Null if zlib cannot allocate its state.
std::unique_ptr<ResponseBodyEncoder> MakeGzipEncoder(int level = 6, uint64_t size_hint = 0);
// `quality`: brotli's 0..11 (5 suits on-the-fly compression). Null on allocation failure.
std::unique_ptr<ResponseBodyEncoder> MakeBrotliEncoder(int quality = 5, uint64_t size_hint = 0);

}  // namespace edge::l7
