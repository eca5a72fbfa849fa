#!/usr/bin/env bash
# CI for the placement kernel (run by .ci/run): 
#   1. the wasm build is reproducible: rebuild it and fail if it differs from the committed wasm/placement.wasm;
#   2. the kernel under AddressSanitizer + UBSan over random inputs (native/test/harness.c): no findings;
#   3. the native addon builds.
# The placement contract suite (10,050 random clusters on every backend) runs in `npm test`; .ci/run sets
# MUSTER_REQUIRE_NATIVE=1 so a missing native backend fails it there instead of being skipped.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "ci-placement: 1/3 wasm reproducibility"
bash scripts/build-wasm.sh "$tmp/placement.wasm"
if ! cmp -s "$tmp/placement.wasm" wasm/placement.wasm; then
  echo "ci-placement: wasm/placement.wasm differs from a fresh build of native/src; run scripts/build-wasm.sh and commit it" >&2
  exit 1
fi

echo "ci-placement: 2/3 sanitizer harness"
clang -std=c11 -g -O1 -Wall -Wextra -Werror -fsanitize=address,undefined -fno-sanitize-recover=all \
  -o "$tmp/harness" native/test/harness.c
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "$tmp/harness" "${HARNESS_ITERATIONS:-1500}" "${HARNESS_SEED:-20240601}"

echo "ci-placement: 3/3 native addon"
node scripts/build-native.mjs
