// The access log's cost on gw7's loop thread per request: formatting one record (the common
// case: nothing to redact; and a query to redact), the usage analytics' Record, and a whole
// RequestObserver::OnRequestEnd into a LineSink writing to /dev/null (its writer thread runs
// beside the benchmark thread, as gw7's does beside the loop).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include "l7/observe/access_log.h"
#include "l7/observe/usage_tracker.h"

namespace edge::l7 {
namespace {

AccessRecord Record() {
  AccessRecord r;
  r.start_unix_ns = 1796230964123456789;
  r.request_id = "70ad13685781937d0000000000000001";
  r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  r.span_id = "00f067aa0ba902b7";
  r.client = *net::SocketAddress::Parse("127.0.0.1:51234");
  r.route = "all";
  r.upstream = "origin";
  r.upstream_server = "127.0.0.1:9101";
  r.method = "GET";
  r.host = "127.0.0.1";
  r.target = "/small";
  r.user_agent = "wrk";
  r.status = 200;
  r.bytes_in = 46;
  r.bytes_out = 300;
  r.duration_ns = 1'834'999;
  r.upstream_first_byte_ns = 1'400'000;
  r.filters_ns = 35'000;
  return r;
}

void BM_FormatNothingToRedact(benchmark::State& state) {
  const AccessRecord r = Record();
  const QueryRedactor redactor({"api_key", "token"});
  std::string line;
  for (auto _ : state) {
    FormatAccessRecordTo(r, redactor, &line);
    benchmark::DoNotOptimize(line.data());
  }
}
BENCHMARK(BM_FormatNothingToRedact);

void BM_FormatWithRedaction(benchmark::State& state) {
  AccessRecord r = Record();
  r.target = "/v1/products?id=7&api_key=SECRET";
  const QueryRedactor redactor({"api_key", "token"});
  std::string line;
  for (auto _ : state) {
    FormatAccessRecordTo(r, redactor, &line);
    benchmark::DoNotOptimize(line.data());
  }
}
BENCHMARK(BM_FormatWithRedaction);

void BM_UsageRecord(benchmark::State& state) {
  AccessRecord r = Record();
  UsageTracker usage;
  for (auto _ : state) {
    r.start_unix_ns += 1000;
    usage.Record(r, r.start_unix_ns + r.duration_ns);
  }
}
BENCHMARK(BM_UsageRecord);

void BM_WriteToDevNull(benchmark::State& state) {
  const int fd = open("/dev/null", O_WRONLY);
  {
    log::AccessLogConfig config;
    config.path = "/dev/null";
    AccessLog access_log(config, log::LineSink::ForFd(fd));
    AccessRecord r = Record();
    for (auto _ : state) benchmark::DoNotOptimize(access_log.Write(r, 1.0));
  }  // the sink's writer flushes and stops before the fd goes
  close(fd);
}
BENCHMARK(BM_WriteToDevNull);

}  // namespace
}  // namespace edge::l7

BENCHMARK_MAIN();
