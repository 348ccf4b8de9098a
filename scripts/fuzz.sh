#!/usr/bin/env bash
# Runs the libFuzzer targets of fuzz/ one after the other, S seconds each:
#
#   npm run fuzz -- [--seconds S] [--target NAME]...
#
# Prints the executions of each target (libFuzzer's final stats), how long
# 10 million executions take at the measured rate, and for a crash the file
# and the command that replays it. Exits non-zero when a target crashed.
# Not part of `npm test`. Installs the nightly toolchain and cargo-fuzz only
# when they are missing. Each run appends to fuzz/logs/runs.tsv, so the
# executions of several runs can be added up.
#
# One libFuzzer process per target, niced: the machines are shared. (libFuzzer
# without -jobs/-workers is one process on one core; `-jobs=1` would only fork
# it and move its output to fuzz-0.log.)
set -euo pipefail
cd "$(dirname "$0")/.."

TARGETS=(sse anthropic openai openai_responses google chunk record head_start auth url time scripted partial_json)
# Release build with overflow checks and debug assertions; no sanitizer: the
# crate has no unsafe code, and ASan would cost most of the speed.
FLAGS=(-O -a -s none)

seconds=120
targets=()
usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; echo "targets: ${TARGETS[*]}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="${2:?--seconds needs a value}"; shift 2 ;;
    --seconds=*) seconds="${1#*=}"; shift ;;
    --target) targets+=("${2:?--target needs a name}"); shift 2 ;;
    --target=*) targets+=("${1#*=}"); shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "fuzz.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: --seconds takes a positive whole number, not '$seconds'" >&2; exit 2; }
[ ${#targets[@]} -gt 0 ] || targets=("${TARGETS[@]}")
for t in "${targets[@]}"; do
  [[ " ${TARGETS[*]} " == *" $t "* ]] || { echo "fuzz.sh: no target '$t' (targets: ${TARGETS[*]})" >&2; exit 2; }
done

log() { printf '\033[1;34m[fuzz]\033[0m %s\n' "$*" >&2; }
export PATH="$HOME/.cargo/bin:$PATH"
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  log "installing the nightly toolchain (libFuzzer needs it)"
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  log "installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

bash fuzz/seed.sh >/dev/null
log "building the targets"
(cd fuzz && nice -n 10 cargo +nightly fuzz build "${FLAGS[@]}")

mkdir -p fuzz/logs
failed=()
summary=()
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  corpora=("corpus/$t")
  [ -d "fuzz/seeds/$t" ] && corpora+=("seeds/$t")
  before="$(ls "fuzz/artifacts/$t")"
  logfile="fuzz/logs/$t.log"
  log "$t: ${seconds}s (log: $logfile)"
  status=0
  (cd fuzz && nice -n 10 cargo +nightly fuzz run "${FLAGS[@]}" "$t" "${corpora[@]}" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="artifacts/$t/") >"$logfile" 2>&1 || status=$?
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$logfile" | tail -1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$logfile" | tail -1)"
  if [ -z "$execs" ]; then
    # A crash ends the run before the final stats: take the last status line.
    execs="$(grep -o '^#[0-9]*' "$logfile" | tail -1 | tr -d '#')"
  fi
  new="$(comm -13 <(echo "$before") <(ls "fuzz/artifacts/$t") | grep -E '^(crash|leak|timeout|oom)-' || true)"
  if [ "$status" -ne 0 ] || [ -n "$new" ]; then
    failed+=("$t")
    result="CRASH"
    echo "---- $t crashed (exit $status); the end of $logfile:" >&2
    grep -v '^#\|^INFO\|^\s*$' "$logfile" | tail -25 >&2 || true
    for f in $new; do
      echo "reproduce: (cd fuzz && cargo +nightly fuzz run ${FLAGS[*]} $t artifacts/$t/$f)" >&2
      echo "show input: (cd fuzz && cargo +nightly fuzz fmt ${FLAGS[*]} $t artifacts/$t/$f)" >&2
    done
  else
    result="ok"
  fi
  ten_m="?"
  if [ -n "${rate:-}" ] && [ "$rate" -gt 0 ] 2>/dev/null; then ten_m="$((10000000 / rate))s"; fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "$seconds" "${execs:-0}" "${rate:-?}" "$result" >>fuzz/logs/runs.tsv
  summary+=("$(printf '%-11s %12s execs %8s exec/s   10M in %-8s %s' "$t" "${execs:-?}" "${rate:-?}" "$ten_m" "$result")")
done

echo
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "crashed: ${failed[*]}" >&2
  exit 1
fi
