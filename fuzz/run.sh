#!/usr/bin/env bash
# Runs the cargo-fuzz targets SECONDS each (two at a time, at the lowest CPU priority), then
# minimises each corpus (cargo fuzz cmin) and prints one line of figures per target.
#
#   fuzz/run.sh [SECONDS] [TARGET...]      # default: 600 s, every target
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`); on the stable toolchain RUSTC_BOOTSTRAP=1
# stands in for nightly. No sanitizer: the workspace forbids unsafe code, so libFuzzer's
# coverage guidance plus Rust's own checks are what finds bugs here, at several times the
# executions per second of ASan. The release build has no overflow checks: the replay tests
# (tests/fuzz_corpus_replay.rs, a debug build) run every corpus input with them.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-600}
shift || true
if [ $# -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(cargo fuzz list); fi
export RUSTC_BOOTSTRAP=1
flags=(--sanitizer none)
cargo fuzz build "${flags[@]}"
mkdir -p logs

run() {
  local t=$1
  mkdir -p "corpus/$t"
  nice -n 19 cargo fuzz run "${flags[@]}" "$t" -- -max_total_time="$secs" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 >"logs/$t.log" 2>&1
}

for ((i = 0; i < ${#targets[@]}; i += 2)); do
  run "${targets[i]}" &
  a=$!
  if [ $((i + 1)) -lt ${#targets[@]} ]; then run "${targets[i + 1]}" & b=$!; else b=; fi
  wait $a
  [ -z "$b" ] || wait "$b"
done

for t in "${targets[@]}"; do
  nice -n 19 cargo fuzz cmin "${flags[@]}" "$t" >"logs/$t.cmin.log" 2>&1
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$t.log" | grep -o '[0-9]*$')
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "logs/$t.log" | grep -o '[0-9]*$')
  crash=$(grep -c 'ERROR: libFuzzer\|panicked at' "logs/$t.log" || true)
  echo "$t: ${secs}s, ${execs} executions (${rate}/s), $(ls "corpus/$t" | wc -l) corpus inputs after cmin, ${crash} crash reports"
done
