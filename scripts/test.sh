#!/usr/bin/env bash
# The whole test suite: unit, fuzz-corpus replay and integration tests on the release build, then
# all of it again on an ASan+UBSan build, then the libFuzzer targets compiled (not run) with clang
# so the fuzz build cannot rot. Prints meson's summaries; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

status=0
run_suite() {  # DIR
  meson test -C "$1" --print-errorlogs --num-processes 2 || status=1
}

ninja -C build || exit 1
echo "=== release build: tests ==="
run_suite build

if [[ ! -f build-asan/build.ninja ]]; then
  meson setup build-asan --buildtype=debug -Doptimization=1 -Db_sanitize=address,undefined \
    -Db_lundef=false -Dbench=false >/dev/null || exit 1
fi
ninja -C build-asan || exit 1
echo "=== ASan+UBSan build: tests ==="
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export EDGE_SANITIZED=1
run_suite build-asan

# The fuzz build compiles the libraries and the fuzz targets only (tests/meson.build skips the unit
# and integration tests with -Dfuzz=true); its corpus replays already ran above.
echo "=== clang fuzz build: compile the fuzz targets ==="
if [[ ! -f build-fuzz/build.ninja ]]; then
  CXX=clang++ meson setup build-fuzz -Dfuzz=true -Dbench=false >/dev/null || exit 1
fi
mapfile -t fuzz_targets < <(ninja -C build-fuzz -t targets all | sed -n 's|^\(tests/fuzz/fuzz_[a-z_0-9]*\):.*|\1|p')
if ((${#fuzz_targets[@]} == 0)); then
  echo "test.sh: no fuzz targets in build-fuzz"
  status=1
else
  ninja -C build-fuzz "${fuzz_targets[@]}" || status=1
fi

if ((status)); then echo "test.sh: FAILED"; else echo "test.sh: all suites passed"; fi
exit $status
