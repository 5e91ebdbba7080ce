#!/usr/bin/env bash
# The bundled example (examples/seed): lib.c → bitcode → a static library (ar), program.c →
# bitcode, linked against it by bpf-linker with BTF; then a summary of the object and, as root,
# a load into the kernel's verifier.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

out=${EXAMPLE_OUT:-examples/seed/build}
mkdir -p "$out"
cflags=(-target bpf -I/usr/include/x86_64-linux-gnu -g -O2)
echo "+ clang-22 -emit-llvm -c lib.c / program.c; llvm-ar rcs liblib.a lib.bc"
clang-22 "${cflags[@]}" -emit-llvm -c examples/seed/lib.c -o "$out/lib.bc"
clang-22 "${cflags[@]}" -emit-llvm -c examples/seed/program.c -o "$out/program.bc"
rm -f "$out/liblib.a"
/usr/lib/llvm-22/bin/llvm-ar rcs "$out/liblib.a" "$out/lib.bc"

echo "+ bpf-linker $out/program.bc $out/liblib.a --btf --internalize -o $out/program.o"
node packages/cli/dist/bpf-linker.cjs "$out/program.bc" "$out/liblib.a" --btf --internalize --log-level=info -o "$out/program.o"

node packages/cli/dist/bpf-linker.cjs inspect "$out/program.o" | sed "/^Sections (/,\$d"   # the section table: bpf-linker inspect without the filter

# Load every program into the running kernel's verifier (libbpf through koffi; needs root).
node packages/cli/dist/bpf-linker.cjs verify "$out/program.o" || true
