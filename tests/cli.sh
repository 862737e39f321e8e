#!/bin/bash
# TAP: the ktune command's own behaviour: --help everywhere, bad command
# lines (exit 2, one message), bad databases for `ktune tune` (exit 1, one
# message, the file left byte for byte as it was), and a tiny real tuning
# run whose winners dispatch then reads.
set -u
: "${top_builddir:?}"
k="$top_builddir/ktune"
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp"; rm -rf "$tmp"' EXIT
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
no() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; [ -f "$tmp/err" ] && sed 's/^/# /' "$tmp/err" | head -5; }
# expect CODE LINES DESCRIPTION -- CMD...: exit code and the number of stderr lines
expect() {
    local code=$1 lines=$2 desc=$3; shift 4
    "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$? got
    got=$(wc -l <"$tmp/err")
    if [ "$rc" -eq "$code" ] && { [ "$lines" = any ] || [ "$got" -eq "$lines" ]; }; then ok "$desc"
    else no "$desc (exit $rc, $got stderr lines)"; fi
}

for c in "" info list bench tune; do
    expect 0 0 "ktune $c --help exits 0" -- $k $c --help
    [ -n "$c" ] && { grep -q "usage: ktune $c" "$tmp/out" && ok "ktune $c --help shows its usage" || no "ktune $c --help shows its usage"; }
done
expect 2 any "ktune with no command exits 2" -- $k
expect 2 any "an unknown command exits 2" -- $k frobnicate
expect 2 1 "an unknown option exits 2 with one message" -- $k tune --bogus
expect 2 1 "an unknown op exits 2 with one message" -- $k tune --ops axpy_f99
expect 2 1 "malformed sizes exit 2 with one message" -- $k tune --sizes 12,abc
expect 2 1 "sizes of zero are refused" -- $k bench --sizes 0
for bad in 4x x4 4xx5 3:5x7 1x2x3x4 0x3; do
    expect 2 1 "bench --sizes refuses the shape '$bad' with one message" -- $k bench --sizes "$bad"
done
expect 2 1 "a bad budget exits 2" -- $k tune --budget -5
expect 2 1 "an unknown variant exits 2" -- $k tune --ops axpy_f32 --variants avx9000
expect 2 1 "list of an unknown op exits 2" -- $k list nope

# bad databases: exit 1, one message, the file unchanged
head -c 16384 /dev/urandom >"$tmp/random.db"
printf 'SQLite format 3\0' >"$tmp/trunc.db"; head -c 3000 /dev/urandom >>"$tmp/trunc.db"
sqlite3 "$tmp/foreign.db" "CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('keep me');"
for f in random trunc foreign; do
    sum=$(sha256sum <"$tmp/$f.db")
    expect 1 1 "tune refuses a $f database with one message" -- $k tune --quick --ops add_scalar_f32 --sizes 100 --db "$tmp/$f.db"
    [ "$(sha256sum <"$tmp/$f.db")" = "$sum" ] && ok "the $f database is left as it was" || no "the $f database is left as it was"
done
mkdir "$tmp/ro" && "$k" tune --quick --ops add_scalar_f32 --sizes 100 --db "$tmp/ro/t.db" >/dev/null 2>&1
chmod 0444 "$tmp/ro/t.db"; chmod 0555 "$tmp/ro"
if [ "$(id -u)" -ne 0 ]; then
    expect 1 1 "tune refuses a read-only database with one message" -- $k tune --quick --ops add_scalar_f32 --sizes 100 --db "$tmp/ro/t.db"
else
    n=$((n + 1)); echo "ok $n # SKIP read-only files are writable by root"
fi
chmod 0755 "$tmp/ro"; chmod 0644 "$tmp/ro/t.db"

# a real, small tuning run, and dispatch reading it
expect 0 any "ktune tune --quick on two ops succeeds" -- $k tune --quick --ops axpy_f32,add_scalar_i64 --sizes 1000,1e6 --no-verify --db "$tmp/ok.db" --json
grep -q '"status": "complete"' "$tmp/out" && ok "the run is recorded complete" || no "the run is recorded complete"
w=$(sqlite3 "$tmp/ok.db" "SELECT count(*) FROM winners WHERE op IN ('axpy_f32','add_scalar_i64')")
[ "$w" -ge 4 ] && ok "winners has a row per op and size ($w)" || no "winners has a row per op and size ($w)"
expect 0 any "a second run reuses every measurement" -- $k tune --quick --ops axpy_f32,add_scalar_i64 --sizes 1000,1e6 --no-verify --db "$tmp/ok.db" --json
grep -q '"measured": 0' "$tmp/out" && ok "nothing was measured twice" || no "nothing was measured twice"
expect 0 any "bench reads the tuned database" -- $k bench --quick --ops add_scalar_i64 --sizes 1000,1e6 --db "$tmp/ok.db" --json
grep -q '"geomean_ratio"' "$tmp/out" && ok "bench reports dispatched/best" || no "bench reports dispatched/best"
expect 0 any "bench takes shapes in --sizes" -- $k bench --quick --ops gemv_f64 --sizes 8x6,3x5 --db "$tmp/ok.db" --json
grep -q '"shape": "3x5"' "$tmp/out" && grep -q '"shape": "8x6"' "$tmp/out" && ok "bench times the shapes given" || no "bench times the shapes given"

# strings stored in the database reach the terminal escaped: no ESC or BEL byte printed
cp "$tmp/ok.db" "$tmp/esc.db"
sqlite3 "$tmp/esc.db" "UPDATE runs SET ktune_version = '0.1' || char(27) || ']0;pwned' || char(7);
    INSERT OR REPLACE INTO limits (machine, name, value)
    SELECT id, 'peak_gflops_' || char(27) || '[2J', 1 FROM machines;"
expect 0 0 "show prints a database holding escape sequences" -- $k show --db "$tmp/esc.db"
if grep -q "$(printf '[\033\007]')" "$tmp/out"; then
    no "show prints no ESC or BEL byte from the database"
else
    ok "show prints no ESC or BEL byte from the database"
fi
grep -qF '0.1\x1b]0;pwned\x07' "$tmp/out" && grep -qF 'peak \x1b[2J' "$tmp/out" &&
    ok "show prints them as \\x1b, \\x07" || no "show prints them as \\x1b, \\x07"

expect 0 0 "show --json prints the same database" -- $k show --db "$tmp/esc.db" --json
grep -qiF '0.1\u001b]0;pwned\u0007' "$tmp/out" &&
    ok "show --json keeps the stored strings exact (JSON escapes)" ||
    no "show --json keeps the stored strings exact (JSON escapes)"

# bounded size lists: one line and exit 2 at once, not gigabytes or hours
expect 2 1 "a range of 9e15 sizes is refused at once" -- \
    timeout 20 $k tune --sizes 1:9e15:1.0000001
expect 2 1 "a range of 2^40 fine steps is refused at once" -- \
    timeout 20 $k bench --sizes 1:2^40:1.000001
expect 2 1 "a size beyond this machine's memory is refused" -- timeout 20 $k tune --sizes 9e15
expect 1 1 "tune exits 1 when every size is too large for memory" -- \
    $k tune --quick --ops gemm_f64 --sizes 2^20,2^21 --db "$tmp/big.db"
grep -q -- '--sizes 1048576,2097152: too large' "$tmp/err" &&
    ok "... and names the sizes" || no "... and names the sizes"

echo "1..$n"
[ "$failed" -eq 0 ]
