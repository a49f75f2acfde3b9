#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The one command a new user runs: install what Tern needs, build it, run the main job.
# Until the replication group exists the main job is the log benchmark (a short run by
# default); later issues replace it with a local group.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: tools/run.sh [--full] [--help]

Installs the Debian packages Tern needs (tools/deps.sh), configures and builds build/
with meson, then runs the main job: for now the log benchmark, `tools/bench.sh log
--quick`, which prints key=value lines.

  --full   run the benchmark's full-length run instead of the short one
  --help   show this text

Environment: BUILD_DIR (default build) names the build folder.
EOF
}

quick=(--quick)
while (($# > 0)); do
    case $1 in
    --full) quick=() ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        echo "tools/run.sh: unknown argument '$1'" >&2
        usage >&2
        exit 2
        ;;
    esac
    shift
done

cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}

tools/deps.sh

# Configure once; later runs only rebuild what changed (meson regenerates by itself when
# a meson.build changes).
if [[ ! -f $build/meson-private/coredata.dat ]]; then
    meson setup "$build" --buildtype=debugoptimized
fi
meson compile -C "$build"

BUILD_DIR=$build exec tools/bench.sh log "${quick[@]}"
