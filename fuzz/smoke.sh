#!/usr/bin/env bash
# CI's fuzzing: builds every target with cargo fuzz on the stable toolchain and runs each for a
# short, fixed time (FUZZ_SECONDS, default 20), two at a time, so that a decoder change that
# breaks a target's property (a panic, a non-canonical encoding accepted) fails CI. A failure
# prints the target's last lines and the input that broke it (fuzz/artifacts/<target>/).
set -euo pipefail
cd "$(dirname "$0")"
seconds="${FUZZ_SECONDS:-20}"
tools="$HOME/.cache/nvm-tools"
export PATH="$tools/bin:$PATH"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.2 --root "$tools"
# The workspace's versions (a fresh resolution picks Solana crates that do not build together).
cp ../Cargo.lock .
target_dir="${FUZZ_TARGET_DIR:-$HOME/.cache/nvm-fuzz-target}"
# cargo fuzz passes nightly-only compiler flags; the stable compiler takes them under this.
export RUSTC_BOOTSTRAP=1
# No sanitizer: Rust's own checks (panics, overflow checks, debug assertions) are what the
# targets assert; AddressSanitizer would need a nightly-only runtime.
cargo fuzz build -O --sanitizer none --target-dir "$target_dir"
bin="$target_dir/x86_64-unknown-linux-gnu/release"
mkdir -p logs
run_one() {
    local target="$1"
    mkdir -p "corpus/$target" "artifacts/$target"
    if "$bin/$target" "corpus/$target" -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="artifacts/$target/" >"logs/$target.log" 2>&1; then
        echo "fuzz $target: ok ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "logs/$target.log" | grep -o '[0-9]*$') runs in ${seconds}s)"
    else
        echo "fuzz $target: FAILED"
        tail -30 "logs/$target.log"
        ls "artifacts/$target"
        return 1
    fi
}
export -f run_one
export seconds bin
cargo fuzz list | xargs -P 2 -I{} bash -c 'run_one "$@"' _ {}
