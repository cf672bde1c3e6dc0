#!/usr/bin/env bash
# Fuzz the task document parser and validator (god_core::submit::{parse, validate}) with
# cargo-fuzz / libFuzzer on the STABLE toolchain, for SECONDS seconds of fuzzing (build time not
# counted). See fuzz/README.md for how it works and how to reproduce a crash.
#
# Usage: scripts/fuzz.sh [SECONDS]   (default 60)
# Exit status: 0 if nothing was found; non-zero if libFuzzer found a crashing input (a panic:
# failed invariant, arithmetic overflow, ...), a timeout or an out-of-memory input, or if the
# build failed. The failing input's path is printed.
# Needs: cargo (rustup's stable is fine) and a C++ compiler (libfuzzer-sys compiles libFuzzer);
# as root on Debian, a missing g++ is installed with apt-get. cargo-fuzz is installed if missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_TO_RUN=${1:-60}
case "$SECONDS_TO_RUN" in
    '' | *[!0-9]*)
        echo "usage: $0 [SECONDS]" >&2
        exit 2
        ;;
esac
TARGET=parse_task

if ! command -v cargo >/dev/null && [ -f "$HOME/.cargo/env" ]; then
    # shellcheck disable=SC1091
    . "$HOME/.cargo/env"
fi

if ! command -v c++ >/dev/null && ! command -v g++ >/dev/null && ! command -v clang++ >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "fuzz: apt-get install g++ (libfuzzer-sys compiles libFuzzer's C++ sources)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends g++ >/dev/null
    else
        echo "fuzz: a C++ compiler (g++ or clang++) is needed to build libFuzzer" >&2
        exit 1
    fi
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: cargo install cargo-fuzz --locked (a couple of minutes, once)"
    cargo install cargo-fuzz --locked
fi
cargo fuzz --version

# `-s none`: no sanitizer, so cargo-fuzz passes no nightly-only `-Zsanitizer` flag; the rest of
# what it passes (-Cpasses=sancov-module and the -sanitizer-coverage-* LLVM args, --cfg fuzzing,
# -Cdebug-assertions, so overflow checks too) works on stable. Safe Rust needs no ASan to crash.
# The first corpus directory (the seeds) also receives what libFuzzer finds (git-ignored).
LOG=$(mktemp "${TMPDIR:-/tmp}/fuzz-$TARGET.XXXXXX.log")
trap 'rm -f "$LOG"' EXIT
echo "fuzz: building $TARGET and fuzzing it for ${SECONDS_TO_RUN}s (log: $LOG)"
set +e
cargo fuzz run "$TARGET" --sanitizer none fuzz/corpus/"$TARGET" -- \
    -max_total_time="$SECONDS_TO_RUN" \
    -dict=fuzz/"$TARGET".dict \
    -timeout=10 \
    -rss_limit_mb=2048 \
    -print_final_stats=1 2>&1 | tee "$LOG"
status=${PIPESTATUS[0]}
set -e

echo
if grep -q '^stat::number_of_executed_units' "$LOG"; then
    runs=$(grep '^stat::number_of_executed_units' "$LOG" | tail -1 | awk '{print $2}')
    eps=$(grep '^stat::average_exec_per_sec' "$LOG" | tail -1 | awk '{print $2}')
    echo "fuzz: $runs executions, $eps exec/s"
fi
if [ "$status" -ne 0 ]; then
    crashes=$(grep -o 'Test unit written to .*' "$LOG" | sed 's/^Test unit written to //' | grep -v 'slow-unit-' || true)
    if [ -n "$crashes" ]; then
        echo "fuzz: FAILED: libFuzzer found a failing input (panic, timeout or OOM):"
        for c in $crashes; do
            echo "  $c"
            echo "  reproduce: cargo fuzz run $TARGET --sanitizer none $c"
        done
        grep -m1 -A1 "panicked at" "$LOG" || true
    else
        echo "fuzz: FAILED: cargo fuzz exited with status $status (build error?); see the output above"
    fi
    exit "$status"
fi
echo "fuzz: no crash in ${SECONDS_TO_RUN}s"
