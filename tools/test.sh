#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Install, build and run every Tern test suite, then print `N passed, N failed` as the
# very last line, counted from the real results. CI (.ci/run) runs exactly this.
#
# Stages:
#   build/       debugoptimized; `meson test`, every suite (unit, tools = the source
#                checkers, and sim and integration once they exist)
#   build-asan/  -Db_sanitize=address,undefined; `meson test` for the unit and sim suites
#   valgrind     the unit suite of build/ again under valgrind (memcheck), when installed
#   build-fuzz/  clang -Dfuzz=true, ASan+UBSan, libraries instrumented for libFuzzer
#                (-fsanitize=fuzzer-no-link); only when clang can link libFuzzer; every
#                tests/fuzz/fuzz_* (or *_fuzz) executable runs TERN_FUZZ_SECONDS (default
#                20) seconds on build-fuzz/corpus/<name>, seeded from tests/fuzz/corpus/<name>
#                and, when the corpus is empty, from tests/fuzz/make_seed_<stem> CORPUS_DIR
#
# Counting: meson's meson-logs/testlog.json (one JSON object per test) gives the results:
# OK and EXPECTEDFAIL pass; FAIL, TIMEOUT, ERROR and UNEXPECTEDPASS fail; SKIP is skipped.
# A build that fails, or a `meson test` that fails without a failing test in its log,
# counts as one failure; each fuzz target counts as one test.
set -uo pipefail

usage() {
    cat <<'EOF'
Usage: tools/test.sh [--help]

Installs the Debian packages Tern needs (tools/deps.sh), builds build/, build-asan/
(ASan+UBSan) and, when clang has libFuzzer, build-fuzz/; runs every test suite in
build/, the unit and sim suites in build-asan/, and each fuzz target for a short time.
Ends with the line `N passed, N failed`; exits non-zero when anything failed or
nothing ran.

Environment:
  TERN_FUZZ_SECONDS   seconds per fuzz target (default 20; 0 skips fuzzing)
  TERN_TEST_JOBS      tests run in parallel by meson (default 2)
EOF
}

case ${1:-} in
-h | --help)
    usage
    exit 0
    ;;
"") ;;
*)
    echo "tools/test.sh: unknown argument '$1'" >&2
    usage >&2
    exit 2
    ;;
esac

cd "$(dirname "$0")/.." || exit 1
root=$PWD
fuzz_seconds=${TERN_FUZZ_SECONDS:-20}
jobs=${TERN_TEST_JOBS:-2}

mtest_wrap=
passed=0
failed=0
skipped=0
summary=()

say() {
    printf '\n==== %s\n' "$*"
}

# note LABEL PASSED FAILED SKIPPED: add to the totals and remember a summary line.
note() {
    passed=$((passed + $2))
    failed=$((failed + $3))
    skipped=$((skipped + $4))
    summary+=("$(printf '%-22s %4d passed, %4d failed, %4d skipped' "$1" "$2" "$3" "$4")")
}

# show_log FILE: the end of a log, where the error usually is.
show_log() {
    echo "---- last lines of $1"
    tail -n 100 "$1"
    echo "----"
}

# build DIR LABEL [VAR=VALUE...] -- [MESON SETUP ARGS...]: configure (once; later runs
# reconfigure with the same arguments) and compile. Returns non-zero, after counting one
# failure, when either step fails.
build() {
    local dir=$1 label=$2 envs=()
    shift 2
    while (($# > 0)) && [[ $1 != -- ]]; do
        envs+=("$1")
        shift
    done
    shift
    mkdir -p "$dir"
    local log=$dir/tern-test-build.log
    say "$label: configure and build $dir/"
    if [[ -f $dir/meson-private/coredata.dat ]]; then
        env "${envs[@]}" meson setup --reconfigure "$dir" "$@" >"$log" 2>&1
    else
        env "${envs[@]}" meson setup "$dir" "$@" >"$log" 2>&1
    fi || {
        show_log "$log"
        echo "$label: meson setup failed (log: $log)"
        note "$label build" 0 1 0
        return 1
    }
    meson compile -C "$dir" >>"$log" 2>&1 || {
        show_log "$log"
        echo "$label: build failed (log: $log)"
        note "$label build" 0 1 0
        return 1
    }
    echo "$label: built"
}

# count TESTLOG: print "PASSED FAILED SKIPPED" for a meson testlog.json on stdout, and
# the name of each failed test on stderr.
count() {
    python3 - "$1" <<'EOF'
import json
import sys

PASS = {"OK", "EXPECTEDFAIL"}
FAIL = {"FAIL", "TIMEOUT", "ERROR", "UNEXPECTEDPASS"}
SKIP = {"SKIP"}
p = f = s = 0
try:
    with open(sys.argv[1], encoding="utf-8", errors="replace") as log:
        for line in log:
            line = line.strip()
            if not line:
                continue
            try:
                t = json.loads(line)
            except ValueError:
                continue
            r = t.get("result")
            if r in PASS:
                p += 1
            elif r in SKIP:
                s += 1
            else:
                # FAIL, TIMEOUT, ERROR, UNEXPECTEDPASS, or anything unknown.
                f += 1
                print(f"  failed: {t.get('name', '?')} ({r})", file=sys.stderr)
except FileNotFoundError:
    pass
print(p, f, s)
EOF
}

# mtest DIR LABEL [SUITE...]: run `meson test` (all suites when none are named) and count
# the results.
mtest() {
    local dir=$1 label=$2
    shift 2
    local args=() s
    for s in "$@"; do
        args+=(--suite "$s")
    done
    # meson names the log after a wrapper (testlog-valgrind.json): take whichever appears.
    local testlog
    rm -f "$dir"/meson-logs/testlog*.json
    say "$label: meson test ${*:-(all suites)} ${mtest_wrap:+(under $mtest_wrap)}"
    meson test -C "$dir" --print-errorlogs --num-processes "$jobs" "${args[@]}" \
        ${mtest_wrap:+--wrap="$mtest_wrap"}
    local rc=$? p f sk
    testlog=$(ls -t "$dir"/meson-logs/testlog*.json 2>/dev/null | head -n 1)
    read -r p f sk < <(count "${testlog:-/nonexistent}")
    if ((rc != 0 && f == 0)); then
        echo "$label: meson test exited $rc without a failed test in $testlog"
        f=1
    fi
    note "$label tests" "$p" "$f" "$sk"
}

# suites_present DIR SUITE...: print those of the suites that have at least one test.
suites_present() {
    local dir=$1
    shift
    meson introspect --tests "$dir" | python3 -c '
import json, sys
have = {s.split(":", 1)[-1] for t in json.load(sys.stdin) for s in t.get("suite", [])}
print(" ".join(s for s in sys.argv[1:] if s in have))
' "$@"
}

# fuzz_can_link: clang is installed and can link a libFuzzer target.
fuzz_can_link() {
    command -v clang >/dev/null 2>&1 || return 1
    local tmp rc
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/tern-fuzz-probe.XXXXXX") || return 1
    printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\n%s\n' \
        'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }' \
        >"$tmp/probe.c"
    clang -fsanitize=fuzzer,address,undefined "$tmp/probe.c" -o "$tmp/probe" >/dev/null 2>&1
    rc=$?
    rm -rf "$tmp"
    return $rc
}

# fuzz DIR: run each fuzz target for $fuzz_seconds seconds; each counts as one test.
fuzz() {
    local dir=$1 exe name stem corpus seeds log rc p=0 f=0
    local targets=()
    while IFS= read -r exe; do
        targets+=("$exe")
    done < <(find "$dir/tests/fuzz" -maxdepth 1 -type f -perm -u+x \
        \( -name 'fuzz_*' -o -name '*_fuzz' \) 2>/dev/null | sort)
    say "fuzz: ${#targets[@]} targets, ${fuzz_seconds}s each"
    if ((${#targets[@]} == 0)); then
        echo "fuzz: no executables matching $dir/tests/fuzz/fuzz_*"
        note "fuzz" 0 0 1
        return
    fi
    mkdir -p "$dir/fuzz-artifacts"
    for exe in "${targets[@]}"; do
        name=${exe##*/}
        stem=${name#fuzz_}
        stem=${stem%_fuzz}
        corpus=$dir/corpus/$name
        log=$dir/fuzz-artifacts/$name.log
        mkdir -p "$corpus"
        # Seeds: a checked-in corpus, and a fresh corpus from make_seed_<stem> if built.
        seeds=()
        [[ -d $root/tests/fuzz/corpus/$name ]] && seeds=("$root/tests/fuzz/corpus/$name")
        if [[ -x $dir/tests/fuzz/make_seed_$stem && -z $(ls -A "$corpus") ]]; then
            "$dir/tests/fuzz/make_seed_$stem" "$corpus" >"$log.seed" 2>&1 ||
                echo "fuzz: make_seed_$stem failed (see $log.seed); fuzzing from scratch"
        fi
        timeout -k 10 $((fuzz_seconds * 2 + 120)) "$exe" -max_total_time="$fuzz_seconds" \
            -timeout=10 -print_final_stats=1 -artifact_prefix="$dir/fuzz-artifacts/$name-" \
            "$corpus" "${seeds[@]}" >"$log" 2>&1
        rc=$?
        if ((rc == 0)); then
            p=$((p + 1))
            printf 'fuzz: %-28s OK   %s runs\n' "$name" \
                "$(awk '/stat::number_of_executed_units/ { print $2 }' "$log")"
        else
            f=$((f + 1))
            printf 'fuzz: %-28s FAIL (exit %d; log %s)\n' "$name" "$rc" "$log"
            tail -n 60 "$log"
        fi
    done
    note "fuzz" "$p" "$f" 0
}

say "deps: tools/deps.sh"
if tools/deps.sh; then
    echo "deps: installed"
else
    note "deps" 0 1 0
fi

if build build build -- --buildtype=debugoptimized; then
    mtest build build
fi

if command -v valgrind >/dev/null 2>&1 && [[ -f build/build.ninja ]]; then
    # Memory errors and definite leaks fail the test (exit 99), sanitizers aside.
    mtest_wrap='valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite -q'
    mtest build valgrind unit
    mtest_wrap=
fi

if build build-asan asan -- --buildtype=debugoptimized -Db_sanitize=address,undefined \
    -Db_lundef=false; then
    read -r -a suites < <(suites_present build-asan unit sim)
    if ((${#suites[@]} > 0)); then
        mtest build-asan asan "${suites[@]}"
    else
        echo "asan: no unit or sim tests"
    fi
fi

if ((fuzz_seconds <= 0)); then
    say "fuzz: skipped (TERN_FUZZ_SECONDS=$fuzz_seconds)"
    note "fuzz" 0 0 1
elif ! fuzz_can_link; then
    say "fuzz: skipped (clang cannot link -fsanitize=fuzzer: install clang and libclang-rt-14-dev)"
    note "fuzz" 0 0 1
elif build build-fuzz fuzz CC=clang -- --buildtype=debugoptimized -Dfuzz=true -Dtests=true \
    -Db_sanitize=address,undefined -Db_lundef=false \
    -Dc_args=-fsanitize=fuzzer-no-link -Dc_link_args=-fsanitize=fuzzer-no-link; then
    # The libraries get libFuzzer's coverage instrumentation too (fuzzer-no-link): with
    # only the target instrumented, libFuzzer sees no coverage in the code it exercises.
    fuzz build-fuzz
fi

say "summary"
for line in "${summary[@]}"; do
    echo "$line"
done
echo "skipped: $skipped"
echo "$passed passed, $failed failed"
if ((failed > 0 || passed + failed == 0)); then
    exit 1
fi
exit 0
