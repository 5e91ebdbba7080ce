#!/usr/bin/env bash
# Installs everything this repository needs on Debian 12 (as root) and builds the packages.
# Idempotent and quick when all is present. Used by the README's commands and by CI.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

# Debian packages and a file each one provides (checked instead of asking dpkg for speed).
declare -A NEED=(
  [clang-19]=/usr/bin/clang-19
  [llvm-19]=/usr/lib/llvm-19/bin/llvm-link
  [llvm-19-dev]=/usr/lib/llvm-19/lib/libLLVM.so
  [clang-22]=/usr/bin/clang-22
  [llvm-22]=/usr/lib/llvm-22/bin/llvm-link
  [llvm-22-dev]=/usr/lib/llvm-22/lib/libLLVM.so
  [llvm-22-tools]=/usr/lib/llvm-22/bin/FileCheck
  [bpftool]=/usr/sbin/bpftool
  [libbpf1]=/usr/lib/x86_64-linux-gnu/libbpf.so.1
  [libbpf-dev]=/usr/include/bpf/bpf_helpers.h
  [linux-libc-dev]=/usr/include/linux/bpf.h
  [rustc-web]=/usr/bin/rustc
  [cargo-web]=/usr/bin/cargo
  [libstd-rust-web-dev-bpf]=/usr/lib/rustlib/bpfel-unknown-none/lib
  # e2e/kernels: Debian kernels under QEMU with a static libbpf loader (scripts/kernels.sh)
  [qemu-system-x86]=/usr/bin/qemu-system-x86_64
  [busybox-static]=/usr/share/doc/busybox-static
  [cpio]=/usr/bin/cpio
  [xz-utils]=/usr/bin/xz
  [gcc]=/usr/bin/gcc
  [libc6-dev]=/usr/lib/x86_64-linux-gnu/libc.a
  [libelf-dev]=/usr/lib/x86_64-linux-gnu/libelf.a
  [zlib1g-dev]=/usr/lib/x86_64-linux-gnu/libz.a
  # e2e/corpus: third-party BPF C sources (cilium/ebpf's testdata; gobpf's test program and the
  # kernel selftests are unpacked from their .debs into a cache by scripts/kernels.sh corpus)
  [golang-github-cilium-ebpf-dev]=/usr/share/gocode/src/github.com/cilium/ebpf/testdata/common.h
)

missing=()
for pkg in "${!NEED[@]}"; do
  [ -e "${NEED[$pkg]}" ] || missing+=("$pkg")
done
# Debian's rustc must be the one from bookworm-security (1.96, LLVM 22), not bookworm's 1.85.
if [ -x /usr/bin/rustc ] && ! /usr/bin/rustc --version 2>/dev/null | grep -q '^rustc 1\.\(9[6-9]\|[1-9][0-9][0-9]\)'; then
  missing+=(rustc-web cargo-web)
fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    log "missing Debian packages: ${missing[*]}"
    log "run this script as root (it uses apt-get), or install them yourself"
    exit 1
  fi
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

node_ok=$(node -e 'const [a,b]=process.versions.node.split(".").map(Number); console.log(a>20||(a===20&&b>=19)?1:0)' 2>/dev/null || echo 0)
if [ "$node_ok" != 1 ]; then
  log "Node.js >= 20.19 is required (found: $(node --version 2>/dev/null || echo none))"
  exit 1
fi

# npm ci when node_modules is absent or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi

log "build"
NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false npx nx run-many -t build --outputStyle=static >/dev/null

# npm links the workspaces' bins at install time, before dist/ exists, and skips missing
# targets: link them now that the build made them (npx bpf-linker, npx bpf-turbo).
if [ ! -e node_modules/.bin/bpf-linker ] || [ ! -e node_modules/.bin/bpf-turbo ]; then
  npm rebuild --ignore-scripts @bpf-linker/cli @bpf-linker/turbo >/dev/null
fi
log "ready"
