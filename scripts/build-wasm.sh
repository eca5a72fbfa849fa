#!/usr/bin/env bash
# Builds wasm/placement.wasm from native/src/placement.c (the same source as the native addon).
#
# Deterministic: fixed flags, no debug info, no build paths, names and producer sections stripped, so the
# same clang/lld version always writes the same bytes. CI (scripts/ci-placement.sh) rebuilds into a
# temporary file and fails if it differs from the committed one.
#
# Usage: scripts/build-wasm.sh [OUTPUT]   (default: wasm/placement.wasm)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/wasm/placement.wasm}"
clang="${CLANG:-clang}"

exports=(mp_table_bytes mp_table_init mp_apply mp_release mp_place mp_place_output_len mp_read_node
  mp_node_count mp_error_index mp_status_code mp_status_message mp_status_kind __heap_base)
link_flags=()
for e in "${exports[@]}"; do link_flags+=("-Wl,--export=$e"); done

cd "$root/native/src"
# -mbulk-memory: the compiler may lower loops to memset/memcpy; with bulk memory those become
#   memory.fill/memory.copy instructions instead of calls into a libc the kernel does not have.
# stack-size: the kernel's deepest frame chain is the spread search (depth <= 21), far below 64 KiB.
"$clang" --target=wasm32 -std=c11 -O3 -ffreestanding -nostdlib -fno-builtin -mbulk-memory \
  -Wall -Wextra -Werror \
  -Wl,--no-entry -Wl,--strip-all -Wl,-z,stack-size=65536 "${link_flags[@]}" \
  -o "$out" placement.c
echo "build-wasm: wrote $out ($(wc -c <"$out") bytes)"
