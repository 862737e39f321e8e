#!/bin/bash
# TAP: the optimisation loop, closed, on examples/cg: ktune profile (every shape on
# defaults), ktune tune --from-profile, ktune profile again (every recorded shape
# "tuned", the time before and now per row); a partial tune (--top 1) leaves shapes
# untuned, so the check can fail.  Bad input: a command that does not exist or fails
# (its exit status passed through), a program that crashes mid-run (what it flushed
# stays), a database the program cannot write (the profile goes to a file, one warning,
# ktune profile --import stores it), a newer schema (left as it was), a profile naming
# ops and variants this build lacks.
set -u
: "${top_builddir:?}"
k="$top_builddir/ktune"
cg="$top_builddir/examples/cg/cg"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export TMPDIR="$tmp"
unset KTUNE_PROFILE KTUNE_FORCE
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
no() { n=$((n + 1)); echo "not ok $n - $1"; for f in "$tmp/err" "$tmp/out"; do [ -f "$f" ] && sed 's/^/# /' "$f" | head -8; done; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else no "$d"; fi; }
reps=30
[ "${KT_TEST_QUICK:-}" = 1 ] && reps=5
# dispatch values of the rows of a --json table, one per line
dispatch() { grep '"dispatch"' "$1" | sed 's/.*"dispatch": "\([^"]*\)".*/\1/'; }

db="$tmp/loop.db"
"$k" profile --db "$db" --json -- "$cg" $reps >"$tmp/out" 2>"$tmp/err"
check "ktune profile runs the example and exits with its status (0)" [ $? -eq 0 ]
rows=$(grep -c '"op"' "$tmp/out")
check "the table has a row per op and shape ($rows)" [ "$rows" -ge 6 ]
check "on a fresh database every shape is on defaults" \
    [ "$(dispatch "$tmp/out" | sort -u)" = default ]
check "the table gives the dispatch counters" grep -q '"strided": ' "$tmp/out"
check "the strided dot is counted as strided" grep -q '"strided": '"$reps" "$tmp/out"
check "gemv_f64 317x317 is recorded with its exact shape" grep -q '"shape": "317x317"' "$tmp/out"
cp "$db" "$tmp/partial.db"

"$k" tune --from-profile --quick --no-verify --db "$db" >"$tmp/tout" 2>"$tmp/err"
check "ktune tune --from-profile succeeds" [ $? -eq 0 ]
check "it tunes the profile's shapes" grep -q "from the profile of .*examples/cg/cg" "$tmp/err"

"$k" profile --db "$db" --json -- "$cg" $reps >"$tmp/out" 2>"$tmp/err"
check "the second profile runs" [ $? -eq 0 ]
bad=$(dispatch "$tmp/out" | grep -vc '^tuned$')
check "after --from-profile every recorded shape is tuned ($bad are not)" [ "$bad" -eq 0 ]
check "the rows show the time per call before" grep -q '"before_per_call_s": [0-9]' "$tmp/out"
check "the profile names the previous run" grep -q '"previous": {' "$tmp/out"
"$k" profile --db "$db" -- "$cg" $reps >"$tmp/out" 2>"$tmp/err"
check "the text table shows before -> now" grep -q ' -> ' "$tmp/out"
check "the text table shows the dispatch counters" grep -q 'dispatch counters' "$tmp/out"
"$k" profile --show --db "$db" --program cg --json >"$tmp/out" 2>"$tmp/err"
check "profile --show --program cg prints the newest profile" grep -q '"session"' "$tmp/out"

"$k" report --db "$db" --html "$tmp/r.html" >/dev/null 2>"$tmp/err"
check "ktune report has a profile section" grep -q '<section class="kt-profile">' "$tmp/r.html"
check "with a chart of time per op and shape" \
    grep -q '<text[^>]*>gemv_f64 317x317 ' "$tmp/r.html"

# the assertion can fail: tuning only the hottest shape leaves others untuned
"$k" tune --from-profile --top 1 --quick --no-verify --db "$tmp/partial.db" >/dev/null 2>&1
"$k" profile --db "$tmp/partial.db" --json -- "$cg" $reps >"$tmp/out" 2>"$tmp/err"
bad=$(dispatch "$tmp/out" | grep -vc '^tuned$')
check "after --top 1 some shapes are not tuned ($bad)" [ "$bad" -gt 0 ]
check "an untuned shape shows an estimated gain or none measured" grep -q '"gain": ' "$tmp/out"

# bad input
"$k" profile --db "$db" -- "$tmp/no-such-program" >"$tmp/out" 2>"$tmp/err"
rc=$?
check "a command that does not exist: exit 127 ($rc), one message" \
    [ $rc -eq 127 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ]
"$k" profile --db "$db" -- sh -c 'exit 3' >"$tmp/out" 2>"$tmp/err"
check "a command that fails: its exit status (3) passed through" [ $? -eq 3 ]
"$k" profile --db "$db" -- "$cg" 20 --flush-every 4 --abort-after 10 >"$tmp/out" 2>"$tmp/err"
rc=$?
check "a program that aborts: 128 + SIGABRT ($rc)" [ $rc -eq 134 ]
check "what it flushed before it crashed is shown" grep -q 'gemv_f64' "$tmp/out"
check "and it is marked as not exited cleanly" grep -q 'not all exited cleanly' "$tmp/out"
"$k" profile --show --db "$db" --json >"$tmp/out" 2>/dev/null
calls=$(grep -A8 '"shape": "317x317"' "$tmp/out" | grep '"calls"' | head -1 | tr -dc 0-9)
iters=$(KTUNE_DB="$tmp/none.db" "$cg" 8 | sed 's/.*iterations=\([0-9]*\).*/\1/')
check "the crashed run kept its calls of 8 repetitions exactly ($calls = $iters)" [ "$calls" = "$iters" ]

# a database the program cannot write: one warning, the profile in the file, nothing fails
KTUNE_LOG=warn KTUNE_PROFILE="$tmp/saved.json" KTUNE_DB="$tmp/no/such/dir/k.db" "$cg" 5 \
    >"$tmp/out" 2>"$tmp/err"
check "the program does not fail when its database is unwritable" [ $? -eq 0 ]
check "one warning says where the profile went" \
    [ "$(grep -c 'written to' "$tmp/err")" -eq 1 ]
check "the profile is in the KTUNE_PROFILE file" grep -q '"ktune_profile": 1' "$tmp/saved.json"
"$k" profile --import "$tmp/saved.json" --db "$tmp/imported.db" >"$tmp/out" 2>"$tmp/err"
check "ktune profile --import stores it" [ $? -eq 0 ]
"$k" profile --show --db "$tmp/imported.db" --json >"$tmp/out" 2>"$tmp/err"
check "and --show prints it" grep -q '"317x317"' "$tmp/out"
KTUNE_DB="$tmp/no/such/dir/k.db" KTUNE_LOG=warn KTUNE_PROFILE=1 "$cg" 5 >"$tmp/out" 2>"$tmp/err"
check "without a file the profile is reported lost, with one warning" \
    [ "$(grep -c 'profile lost' "$tmp/err")" -eq 1 ]
"$k" profile --db "$tmp/no/such/dir/k.db" -- "$cg" 5 >"$tmp/out" 2>"$tmp/err"
rc=$?
check "ktune profile says where a refused profile went ($rc)" \
    grep -q 'profile --import' "$tmp/err"

# a newer schema: the program runs, the file is left as it was
cp "$db" "$tmp/newer.db"
sqlite3 "$tmp/newer.db" "PRAGMA user_version = 99"
sum=$(sha256sum <"$tmp/newer.db")
KTUNE_DB="$tmp/newer.db" KTUNE_PROFILE=1 "$cg" 5 >/dev/null 2>"$tmp/err"
check "a newer-schema database fails nothing" [ $? -eq 0 ]
check "and is left byte for byte as it was" [ "$(sha256sum <"$tmp/newer.db")" = "$sum" ]

# a profile naming an op and a variant this build lacks
cat >"$tmp/alien.json" <<'EOF'
{"ktune_profile": 1, "fingerprint": "alien-machine", "program": "/opt/alien", "args": "",
 "args_hash": "0", "session": "alien-1", "pid": 7, "started": "2030-01-01T00:00:00.000Z",
 "ktune_version": "9.9", "complete": 1,
 "calls": [{"op": "fft_c64", "m": 0, "n": 4096, "k": 0, "bucket": 0, "variant": "magic",
            "version": 1, "calls": 10, "timed": 10, "timed_s": 0.5, "total_s": 0.5},
           {"op": "axpy_f32", "m": 0, "n": 1000, "k": 0, "bucket": 0, "variant": "avx9000",
            "version": 1, "calls": 10, "timed": 10, "timed_s": 0.1, "total_s": 0.1}],
 "counters": []}
EOF
cp "$db" "$tmp/alien.db"
"$k" profile --import "$tmp/alien.json" --db "$tmp/alien.db" >"$tmp/out" 2>"$tmp/err"
check "a profile naming ops and variants this build lacks is stored, with a message" \
    grep -q 'this build does not have' "$tmp/err"
"$k" profile --show --program alien --db "$tmp/alien.db" >"$tmp/out" 2>"$tmp/err"
check "--show marks the unknown op" grep -q 'no operation fft_c64' "$tmp/out"
check "--show marks the unknown variant" grep -q 'no variant avx9000' "$tmp/out"
"$k" tune --from-profile --program alien --quick --no-verify --db "$tmp/alien.db" \
    >"$tmp/out" 2>"$tmp/err"
check "tune --from-profile skips the unknown op with a message and tunes the rest" \
    grep -q 'operations this build does not have: skipped' "$tmp/err"
w=$(sqlite3 "$tmp/alien.db" "SELECT count(*) FROM winners WHERE op = 'axpy_f32' AND n = 1000")
check "axpy_f32 n=1000 was tuned ($w)" [ "$w" -eq 1 ]
c=$(sqlite3 "$tmp/alien.db" "SELECT count(*) FROM profile_calls")
check "nothing stored was lost ($c profiled rows)" [ "$c" -ge 10 ]
"$k" tune --from-profile --top 1 --share 0.5 --db "$db" >"$tmp/out" 2>"$tmp/err"
check "--top and --share together are refused (exit 2)" [ $? -eq 2 ]
"$k" tune --top 3 --db "$db" >"$tmp/out" 2>"$tmp/err"
check "--top without --from-profile is refused (exit 2)" [ $? -eq 2 ]
"$k" profile --show --db "$tmp/empty.db" >"$tmp/out" 2>"$tmp/err"
check "--show of a missing database: exit 1, one message" \
    [ $? -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ]
echo "1..$n"
