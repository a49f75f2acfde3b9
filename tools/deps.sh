#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Install every Debian package that Tern's build, tests and benchmarks need.
#
# Idempotent and quiet: when everything is installed already, this only asks dpkg and
# exits (no network, no root needed). Otherwise it runs apt-get update and apt-get install
# once, as root or through sudo, and prints apt's log only when that fails.
set -euo pipefail

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
    cat <<'EOF'
Usage: tools/deps.sh

Install, with apt-get, the Debian 12 packages Tern needs to build, test and benchmark:
compilers and meson, DPDK, liburing, jemalloc, CUnit, fio, valgrind, tshark, and libFuzzer's
runtime when the archive has it. Prints nothing on success; exits non-zero, with apt's
log, on failure. Needs root (or sudo) only when something is missing.
EOF
    exit 0
fi

# Needed by the build, the test scripts and the benchmarks.
required=(
    meson
    ninja-build
    pkg-config
    gcc
    binutils
    clang
    libdpdk-dev
    dpdk
    liburing-dev
    libjemalloc-dev
    libcunit1-dev
    libsystemd-dev
    fio
    valgrind
    python3
    iproute2
    tshark # tests/wire/dissector_test.sh (tools/wireshark/tern.lua); ~10 s, no prompt
)
# Wanted when the archive has them: libFuzzer's runtime (the fuzz targets need it).
optional=(
    libclang-rt-14-dev
)

installed() {
    [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

missing=()
for p in "${required[@]}"; do
    installed "$p" || missing+=("$p")
done
want_optional=()
for p in "${optional[@]}"; do
    installed "$p" || want_optional+=("$p")
done

# Everything required is here: do not touch the network for an optional package that
# this archive may simply not carry (that would make every run slow and need a network).
if ((${#missing[@]} == 0)); then
    exit 0
fi

sudo=()
if ((EUID != 0)); then
    if command -v sudo >/dev/null 2>&1; then
        sudo=(sudo)
    else
        echo "tools/deps.sh: missing packages: ${missing[*]}" >&2
        echo "tools/deps.sh: run this script as root (sudo is not installed)" >&2
        exit 1
    fi
fi

log=$(mktemp "${TMPDIR:-/tmp}/tern-deps.XXXXXX")
trap 'rm -f "$log"' EXIT
fail() {
    echo "tools/deps.sh: $1" >&2
    cat "$log" >&2
    exit 1
}

apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -y
    -o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0)

"${apt[@]}" update >>"$log" 2>&1 || fail "apt-get update failed"

# Add each optional package only when the archive offers it.
for p in "${want_optional[@]}"; do
    cand=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ { print $2 }')
    if [[ -n $cand && $cand != "(none)" ]]; then
        missing+=("$p")
    fi
done

"${apt[@]}" install --no-install-recommends "${missing[@]}" >>"$log" 2>&1 ||
    fail "apt-get install ${missing[*]} failed"

for p in "${required[@]}"; do
    installed "$p" || fail "package $p is still not installed"
done
exit 0
