#!/usr/bin/env bash
# Older kernels under QEMU (TCG) for loading BPF objects into their verifiers.
#
#   scripts/kernels.sh list                    kernels this harness knows: NAME SUITE
#   scripts/kernels.sh fetch [NAME...]         download + extract into the cache (all by default)
#   scripts/kernels.sh loader                  build the static libbpf loader, print its path
#   scripts/kernels.sh run NAME OBJ.o...       boot kernel NAME once, load every object, print
#                                              the loader's blocks (=== OBJECT/PROG/RESULT, DONE);
#                                              loader options pass through (--run: test_run raw tracepoints)
#   scripts/kernels.sh corpus                  unpack the corpus sources that are not installed
#                                              (linux-source-6.1's BPF selftests + a 6.1 vmlinux.h,
#                                              gobpf's test program), print their directory
#
# NAME is 6.1 (Debian bookworm's linux-image-amd64) or 5.10 (bullseye's). Kernels are never
# installed: the .deb is downloaded with apt-get (bullseye through a private apt state dir, so the
# system's sources stay untouched), its bzImage's XZ payload becomes a vmlinux that QEMU boots
# through the PVH entry (≈ 3 s under TCG). Everything is cached in
#   ${BPF_LINKER_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bpf-linker-kernels}
# A cached kernel is used without asking apt; KERNELS_REFRESH=1 looks for a newer one.
#
# Exit codes: 0 done; 1 error; 3 the kernel cannot be had here (the message says why).
# Needs: qemu-system-x86 busybox-static cpio xz-utils gcc libbpf-dev libelf-dev zlib1g-dev.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${BPF_LINKER_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bpf-linker-kernels}
LOADER_SRC=$ROOT/e2e/kernels/loader.c

log() { printf '[kernels] %s\n' "$*" >&2; }
# Serializes downloads and builds between processes (two test files may ask at once); held until
# the (sub)shell that took it exits.
lock() { mkdir -p "$CACHE"; exec 9>"$CACHE/.lock"; flock 9; }
die() { log "$*"; exit 1; }
unavailable() { log "unavailable: $*"; exit 3; }

suite_of() {
  case "$1" in
    6.1) echo bookworm ;;
    5.10) echo bullseye ;;
    *) die "unknown kernel '$1' (known: 6.1 5.10)" ;;
  esac
}

# apt-get/apt-cache options for a suite: the system's configuration for bookworm (this machine's
# own release), a private sources list and state dir under the cache for any other suite.
apt_opts() {
  local suite=$1
  if [ "$suite" = bookworm ]; then return 0; fi
  local d=$CACHE/apt/$suite
  mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" > "$d/sources.list"
  printf '%s\n' -o "Dir::Etc::sourcelist=$d/sources.list" -o "Dir::Etc::sourceparts=-" \
    -o "Dir::State::Lists=$d/lists" -o "Dir::Cache=$d/cache" -o "APT::Sandbox::User=root"
}

# The package linux-image-amd64 depends on in that suite, e.g. linux-image-6.1.0-56-amd64.
resolve_package() {
  local suite=$1 opts pkg
  mapfile -t opts < <(apt_opts "$suite")
  pkg=$(apt-cache "${opts[@]}" depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -1 || true)
  if [ -z "$pkg" ] || [ "${KERNELS_REFRESH:-0}" = 1 ]; then
    log "apt-get update ($suite)"
    apt-get "${opts[@]}" update -qq >/dev/null 2>"$CACHE/apt-update-$suite.log" \
      || unavailable "apt-get update for Debian $suite failed: $(tail -3 "$CACHE/apt-update-$suite.log" | tr '\n' ' ')"
    pkg=$(apt-cache "${opts[@]}" depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -1 || true)
  fi
  [ -n "$pkg" ] || unavailable "no linux-image-amd64 in Debian $suite"
  echo "$pkg"
}

# Prints the path of the cached vmlinux for NAME, downloading it first if needed.
fetch() {
  local name=$1 suite dir pkg abi
  suite=$(suite_of "$name")
  dir=$CACHE/$suite
  if [ "${KERNELS_REFRESH:-0}" != 1 ] && [ -f "$dir/current" ] && [ -f "$dir/$(cat "$dir/current")/vmlinux" ]; then
    echo "$dir/$(cat "$dir/current")/vmlinux"
    return 0
  fi
  lock
  if [ "${KERNELS_REFRESH:-0}" != 1 ] && [ -f "$dir/current" ] && [ -f "$dir/$(cat "$dir/current")/vmlinux" ]; then
    echo "$dir/$(cat "$dir/current")/vmlinux"
    return 0
  fi
  command -v xz >/dev/null || die "xz is missing (apt-get install xz-utils)"
  mkdir -p "$dir"
  pkg=$(resolve_package "$suite")
  abi=${pkg#linux-image-}
  if [ ! -f "$dir/$abi/vmlinux" ]; then
    local opts tmp vmlinuz off
    mapfile -t opts < <(apt_opts "$suite")
    tmp=$(mktemp -d "$dir/.fetch.XXXXXX")
    log "downloading $pkg (Debian $suite)"
    if ! (cd "$tmp" && apt-get "${opts[@]}" download "$pkg" >/dev/null 2>"$tmp/download.log"); then
      # Stale package lists name a file the mirror no longer has: refresh them once.
      log "apt-get update ($suite) and retry"
      apt-get "${opts[@]}" update -qq >/dev/null 2>>"$tmp/download.log" || true
      pkg=$(apt-cache "${opts[@]}" depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -1 || true)
      abi=${pkg#linux-image-}
      [ -n "$pkg" ] && (cd "$tmp" && apt-get "${opts[@]}" download "$pkg" >/dev/null 2>>"$tmp/download.log") \
        || { cat "$tmp/download.log" >&2; rm -rf "$tmp"; unavailable "apt-get download $pkg failed"; }
    fi
    # Only boot/ is needed (the modules are most of the package).
    dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -C "$tmp" --wildcards './boot/*'
    vmlinuz=$(ls "$tmp"/boot/vmlinuz-* | head -1)
    # The bzImage carries the kernel as an XZ stream; the decompressed ELF boots via PVH.
    off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz" | head -1 | cut -d: -f1)
    [ -n "$off" ] || die "no XZ payload in $vmlinuz"
    mkdir -p "$tmp/out"
    tail -c +$((off + 1)) "$vmlinuz" | xz -dc --single-stream > "$tmp/out/vmlinux"
    cp "$tmp"/boot/config-* "$tmp/out/config"
    echo "$pkg $(dpkg-deb -f "$tmp"/*.deb Version)" > "$tmp/out/package"
    rm -rf "${dir:?}/$abi"
    mv "$tmp/out" "$dir/$abi"
    rm -rf "$tmp"
  fi
  echo "$abi" > "$dir/current"
  echo "$dir/$abi/vmlinux"
}

# Builds the static libbpf loader (cached by the hash of its source and of libbpf.a).
loader() {
  local key out
  key=$(cat "$LOADER_SRC" /usr/lib/x86_64-linux-gnu/libbpf.a 2>/dev/null | sha256sum | cut -c1-16)
  out=$CACHE/loader/$key/bpfl-loader
  if [ ! -x "$out" ]; then
    lock
  fi
  if [ ! -x "$out" ]; then
    for f in /usr/lib/x86_64-linux-gnu/libbpf.a /usr/lib/x86_64-linux-gnu/libelf.a /usr/lib/x86_64-linux-gnu/libz.a; do
      [ -f "$f" ] || die "$f is missing (apt-get install libbpf-dev libelf-dev zlib1g-dev)"
    done
    mkdir -p "$(dirname "$out")"
    gcc -static -O2 -o "$out.tmp" "$LOADER_SRC" -lbpf -lelf -lz || die "building the loader failed"
    mv "$out.tmp" "$out"
  fi
  echo "$out"
}

# Boots NAME with an initramfs holding busybox, the loader and the objects.
run() {
  local name=$1; shift
  [ $# -gt 0 ] || die "usage: run NAME OBJ.o..."
  local vmlinux ldr busybox o
  # Global (not local): the EXIT trap that removes it runs after run() has returned.
  r=
  vmlinux=$(fetch "$name")
  ldr=$(loader)
  busybox=/bin/busybox
  [ -x "$busybox" ] && "$busybox" --list >/dev/null 2>&1 || die "busybox is missing (apt-get install busybox-static)"
  # Debian's `busybox` package installs a dynamic /bin/busybox, useless in the initramfs.
  if ldd "$busybox" >/dev/null 2>&1; then die "$busybox is dynamically linked (apt-get install busybox-static)"; fi
  command -v cpio >/dev/null || die "cpio is missing (apt-get install cpio)"
  command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 is missing (apt-get install qemu-system-x86)"
  r=$(mktemp -d "${TMPDIR:-/tmp}/bpfl-initramfs.XXXXXX")
  trap 'rm -rf "$r" "$r.cpio.gz" "$r.log"' EXIT
  mkdir -p "$r"/{bin,proc,sys,dev,objs}
  cp "$busybox" "$r/bin/busybox"
  for a in sh mount cat poweroff; do ln -s busybox "$r/bin/$a"; done
  cp "$ldr" "$r/bin/bpfl-loader"
  local args=()
  for o in "$@"; do
    # Options for the loader (--run, --each) pass through.
    case $o in --*) args+=("$o"); continue ;; esac
    [ -f "$o" ] || die "no such object: $o"
    # The loader reports objects by file name.
    [ ! -e "$r/objs/$(basename "$o")" ] || die "two objects named $(basename "$o")"
    cp "$o" "$r/objs/"
    args+=("/objs/$(basename "$o")")
  done
  cat > "$r/init" <<EOS
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo
echo "=== KERNEL \$(cat /proc/sys/kernel/osrelease) \$(cat /proc/version)"
/bin/bpfl-loader ${args[*]}
poweroff -f
EOS
  chmod +x "$r/init"
  (cd "$r" && find . | cpio -o -H newc --quiet | gzip -1) > "$r.cpio.gz"
  local status=0
  timeout "${KERNELS_TIMEOUT:-180}" qemu-system-x86_64 -kernel "$vmlinux" -initrd "$r.cpio.gz" \
    -append 'console=ttyS0 panic=-1 loglevel=1' -m 1024 -nographic -no-reboot -nic none \
    -monitor none -serial stdio -display none < /dev/null > "$r.log" 2>&1 || status=$?
  tr -d '\r' < "$r.log" | sed -n '/^=== KERNEL/,/^=== DONE/p'
  if ! tr -d '\r' < "$r.log" | grep -q '^=== DONE'; then
    log "the VM did not finish (qemu exit $status); its console:"
    tr -d '\r' < "$r.log" | tail -40 >&2
    exit 1
  fi
}

# Corpus sources that are not installed but unpacked from their .debs into the cache (for
# e2e/corpus): the BPF selftests of linux-source-6.1 (tools/testing/selftests/bpf with
# tools/lib/bpf and tools/include) plus include/vmlinux.h from the 6.1 kernel's BTF and the
# <bpf/*.h> the selftests' build installs; and gobpf's test program from
# golang-github-iovisor-gobpf-dev (installing it would pull in LLVM 14 through libbpfcc-dev).
# Prints the directory holding linux-source-6.1/, include/ and gobpf/.
corpus() {
  local dir=$CACHE/corpus tmp pkg vmlinux
  if [ -f "$dir/ready" ] && [ "${KERNELS_REFRESH:-0}" != 1 ]; then echo "$dir"; return 0; fi
  vmlinux=$(fetch 6.1)
  lock
  if [ -f "$dir/ready" ] && [ "${KERNELS_REFRESH:-0}" != 1 ]; then echo "$dir"; return 0; fi
  [ -x /usr/sbin/bpftool ] || die "bpftool is missing (apt-get install bpftool)"
  [ -f /usr/include/bpf/bpf_helper_defs.h ] || die "libbpf-dev is missing (bpf_helper_defs.h)"
  pkg=linux-source-6.1
  mkdir -p "$CACHE"
  tmp=$(mktemp -d "$CACHE/.corpus.XXXXXX")
  log "downloading $pkg and golang-github-iovisor-gobpf-dev (Debian bookworm)"
  download() {
    (cd "$tmp" && apt-get download "$@" >/dev/null 2>>"$tmp/download.log")
  }
  if ! download "$pkg" golang-github-iovisor-gobpf-dev; then
    apt-get update -qq >/dev/null 2>>"$tmp/download.log" || true
    download "$pkg" golang-github-iovisor-gobpf-dev \
      || { cat "$tmp/download.log" >&2; rm -rf "$tmp"; unavailable "apt-get download $pkg golang-github-iovisor-gobpf-dev failed"; }
  fi
  mkdir -p "$tmp/out/include/gnu" "$tmp/out/include/bpf" "$tmp/gobpf-deb"
  dpkg-deb --fsys-tarfile "$tmp"/${pkg}_*.deb | tar -x -C "$tmp" ./usr/src/$pkg.tar.xz
  tar -xJf "$tmp/usr/src/$pkg.tar.xz" -C "$tmp/out" --wildcards \
    "$pkg/tools/testing/selftests/bpf/*" "$pkg/tools/lib/bpf/*" "$pkg/tools/include/*"
  /usr/sbin/bpftool btf dump file "$vmlinux" format c > "$tmp/out/include/vmlinux.h"
  # glibc's <gnu/stubs.h> wants stubs-32.h when __x86_64__ is not defined (as for -target bpf).
  : > "$tmp/out/include/gnu/stubs-32.h"
  # <bpf/*.h> as the selftests' build installs them: the tree's libbpf headers, plus the generated
  # bpf_helper_defs.h, taken from libbpf-dev (1.1, generated from a 6.1/6.2 UAPI).
  cp "$tmp/out/$pkg"/tools/lib/bpf/*.h "$tmp/out/include/bpf/"
  cp /usr/include/bpf/bpf_helper_defs.h "$tmp/out/include/bpf/"
  dpkg-deb -x "$tmp"/golang-github-iovisor-gobpf-dev_*.deb "$tmp/gobpf-deb"
  mv "$tmp/gobpf-deb/usr/share/gocode/src/github.com/iovisor/gobpf" "$tmp/out/gobpf"
  {
    for d in "$tmp"/*.deb; do echo "$(dpkg-deb -f "$d" Package) $(dpkg-deb -f "$d" Version)"; done
    echo "vmlinux.h from $(cat "$(dirname "$vmlinux")/package")"
  } > "$tmp/out/ready"
  rm -rf "$dir"
  mv "$tmp/out" "$dir"
  rm -rf "$tmp"
  echo "$dir"
}

cmd=${1:-}
shift || true
case "$cmd" in
  list) echo "6.1 bookworm"; echo "5.10 bullseye" ;;
  fetch) if [ $# -eq 0 ]; then set -- 6.1 5.10; fi; for k in "$@"; do echo "$k $(fetch "$k")"; done ;;
  loader) loader ;;
  run) run "$@" ;;
  corpus) corpus ;;
  *) sed -n '2,/^set /p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 1 ;;
esac
