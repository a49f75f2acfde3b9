#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The one stable entry for every benchmark: builds what is missing, then runs
# build/bench/NAME/tern-bench-NAME with the remaining arguments (`--quick` for a run of a
# few seconds). Benchmarks are the folders of bench/ that have a meson.build.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-build}
case $build in
/*) ;;
*) build=$root/$build ;;
esac

benchmarks() {
    local d
    for d in "$root"/bench/*/; do
        if [[ -f $d/meson.build ]]; then
            basename "$d"
        fi
    done
}

usage() {
    cat <<EOF
Usage: tools/bench.sh NAME [options]

Builds Tern when needed (tools/deps.sh when meson or ninja is missing, meson setup when
the build folder is missing, then meson compile), then runs benchmark NAME, passing the
options on. Every benchmark takes --quick (a run of a few seconds) and --help (its own
options), and prints key=value lines.

Benchmarks:
$(benchmarks | sed 's/^/  /')

Environment: BUILD_DIR (default build) names the build folder.
EOF
}

if (($# == 0)); then
    usage >&2
    exit 2
fi
case $1 in
-h | --help)
    usage
    exit 0
    ;;
esac

name=$1
shift
if [[ ! $name =~ ^[A-Za-z0-9_-]+$ || ! -f $root/bench/$name/meson.build ]]; then
    echo "tools/bench.sh: unknown benchmark '$name'" >&2
    usage >&2
    exit 2
fi

if ! command -v meson >/dev/null || ! command -v ninja >/dev/null; then
    "$root"/tools/deps.sh
fi
if [[ ! -f $build/meson-private/coredata.dat ]]; then
    meson setup "$build" "$root"
fi
# Quiet when nothing changed; the whole build log only when the build fails.
if ! out=$(meson compile -C "$build" 2>&1); then
    printf '%s\n' "$out" >&2
    echo "tools/bench.sh: build failed in $build" >&2
    exit 1
fi

exe=$build/bench/$name/tern-bench-$name
if [[ ! -x $exe ]]; then
    echo "tools/bench.sh: $exe was not built (see the configure summary of $build)" >&2
    exit 1
fi
exec "$exe" "$@"
