#!/bin/bash
# TAP: ktune --plugin end to end.  The test plugin (tests/plugin_test.c) registers
# myapp.smooth_f32 with the example's variants plus "wrong" (fast, cheapest, wrong:
# validation must reject it, dispatch never pick it) and "versioned" (its version from
# KT_TEST_PLUGIN_VERSION: a bump re-measures it alone).  Plugins that are missing, cannot
# be loaded or fail to register: exit 1, one message, nothing stored.  Every command
# takes --plugin; KTUNE_PLUGINS works too.  The example program links the same variants
# statically and tunes them with kt_tune_self.
set -u
: "${top_builddir:?}"
k="$top_builddir/ktune"
libs="$top_builddir/tests/.libs"
plugin="$libs/libktplugin.so"
example="$top_builddir/examples/smooth/.libs/libsmooth.so"
demo="$top_builddir/examples/smooth/smooth_demo"
op=myapp.smooth_f32
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
no() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; [ -f "$tmp/err" ] && sed 's/^/# /' "$tmp/err" | head -5; }
check() { local desc=$1; shift; if "$@"; then ok "$desc"; else no "$desc"; fi; }
# expect CODE LINES DESCRIPTION -- CMD...: exit code and the number of stderr lines
expect() {
    local code=$1 lines=$2 desc=$3; shift 4
    "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$? got
    got=$(wc -l <"$tmp/err")
    if [ "$rc" -eq "$code" ] && { [ "$lines" = any ] || [ "$got" -eq "$lines" ]; }; then ok "$desc"
    else no "$desc (exit $rc, $got stderr lines)"; fi
}
q() { sqlite3 "$db" "$1"; }
absent() { ! grep -Eq "$1" "$2"; }
jnum() { sed -n "s/.*\"$1\": \([0-9]*\).*/\1/p" "$tmp/out" | head -1; }

if [ ! -f "$plugin" ] || [ ! -x "$demo" ]; then
    echo "1..0 # SKIP the plugins are not built"; exit 0
fi
db="$tmp/t.db"

# list: the plugin's op is the tool's own
expect 0 0 "list --plugin shows the plugin's op" -- $k list --plugin "$plugin" $op
check "its variants are listed (scalar, wrong, versioned)" grep -q "^  wrong " "$tmp/out"
expect 2 1 "without the plugin the op is unknown" -- $k list $op

# tune: validation rejects "wrong"; nothing picks it
expect 0 any "tune --plugin at one size succeeds" -- \
    $k tune --plugin "$plugin" --ops $op --sizes 4096 --quick --no-verify --db "$db" --json
first=$(jnum measured)
check "the run measured the plugin's variants ($first)" test "${first:-0}" -ge 2
check "one variant failed validation" test "$(jnum invalid)" = 1
check "wrong's measurement is stored invalid, with the reason" \
    test "$(q "SELECT count(*) FROM measurements WHERE op='$op' AND variant='wrong' AND valid=0 AND error LIKE '%expected%'")" = 1
check "the winners never name wrong" test "$(q "SELECT count(*) FROM winners WHERE op='$op' AND variant='wrong'")" = 0
check "big_only was not measured below its minimum size" \
    test "$(q "SELECT count(*) FROM measurements WHERE op='$op' AND variant='big_only'")" = 0
check "the winners have the op" test "$(q "SELECT count(*) FROM winners WHERE op='$op'")" -ge 1
for size in 1 4096 1000000; do
    KTUNE_DB="$db" $k explain --plugin "$plugin" $op $size >"$tmp/out" 2>"$tmp/err"
    check "explain at n=$size runs a valid variant" grep -Eq "calls +(scalar|avx2|avx512|threads:t=2|versioned|big_only) " "$tmp/out"
    [ $size -lt 10000 ] && check "and not big_only below its minimum size" absent "calls +big_only" "$tmp/out"
done

# a version bump re-measures that variant alone
expect 0 any "tune again: everything reused" -- \
    $k tune --plugin "$plugin" --ops $op --sizes 4096 --quick --no-verify --db "$db" --json
check "nothing measured again" test "$(jnum measured)" = 0
KT_TEST_PLUGIN_VERSION=2 expect 0 any "tune after bumping versioned to 2" -- \
    $k tune --plugin "$plugin" --ops $op --sizes 4096 --quick --no-verify --db "$db" --json
check "exactly one measurement made" test "$(jnum measured)" = 1
check "it is versioned's, at version 2" \
    test "$(q "SELECT count(*) FROM measurements WHERE op='$op' AND variant='versioned' AND version=2")" = 1
check "the other variants' rows are the first run's" \
    test "$(q "SELECT count(*) FROM measurements WHERE op='$op' AND variant<>'versioned' AND version=1")" -ge $((first - 1))

# a database that ranks a variant above the CPU features in force: never called
mid=$(q "SELECT id FROM machines LIMIT 1")
q "DELETE FROM choices WHERE op='$op'; INSERT INTO choices (machine, op, n, rank, variant, version, median_s) VALUES ($mid, '$op', 4096, 1, 'avx512', 1, 1e-6), ($mid, '$op', 4096, 2, 'scalar', 1, 2e-6)"
KTUNE_DB="$db" $k explain --plugin "$plugin" $op 4096 >"$tmp/out" 2>"$tmp/err"
if grep -q "^  *avx512 *yes" <($k list --plugin "$plugin" $op); then
    check "the database's first choice is called where it can run" grep -Eq "calls +avx512 " "$tmp/out"
else
    n=$((n + 1)); echo "ok $n # SKIP avx512 cannot run here"
fi
KTUNE_DB="$db" KTUNE_MAX_ISA=avx2 $k explain --plugin "$plugin" $op 4096 >"$tmp/out" 2>"$tmp/err"
check "above KTUNE_MAX_ISA it is skipped for the next choice" grep -Eq "calls +scalar " "$tmp/out"

# big_only at and above its minimum size: measured, valid
expect 0 any "tune at n=20000 measures big_only too" -- \
    $k tune --plugin "$plugin" --ops $op --sizes 20000 --quick --no-verify --db "$db" --json
check "big_only has a valid measurement at n=20000" \
    test "$(q "SELECT count(*) FROM measurements WHERE op='$op' AND variant='big_only' AND n=20000 AND valid=1")" = 1

# the other commands take --plugin
KTUNE_DB="$db" expect 0 any "show --plugin" -- $k show --plugin "$plugin"
check "show names the op" grep -q "$op" "$tmp/out"
expect 0 any "export --plugin" -- $k export --plugin "$plugin" --db "$db"
check "the export has the op" grep -q "\"$op\"" "$tmp/out"
expect 0 any "report --plugin" -- $k report --plugin "$plugin" --db "$db" --html "$tmp/r.html"
check "the report shows the op" grep -q "$op" "$tmp/r.html"
KTUNE_DB="$db" expect 0 any "bench --plugin" -- $k bench --plugin "$plugin" --ops $op --sizes 1000 --quick
check "bench timed the op" grep -q "dispatched/best" "$tmp/out"
KTUNE_PLUGINS="$plugin" expect 0 0 "KTUNE_PLUGINS loads it too" -- $k list $op

# plugins that fail: exit 1, one message, nothing stored
sum=$(sha256sum <"$db")
for bad in "$tmp/nope.so" "$libs/libktunresolved.so" "$libs/libktbadplugin.so"; do
    name=${bad##*/}
    expect 1 1 "tune --plugin $name exits 1 with one message" -- \
        $k tune --plugin "$bad" --ops all --sizes 100 --quick --db "$tmp/new.db"
    check "$name: nothing was created" test ! -e "$tmp/new.db"
    expect 1 1 "$name: the existing database is refused the same way" -- \
        $k tune --plugin "$bad" --sizes 100 --quick --db "$db"
    check "$name: the database is left as it was" test "$(sha256sum <"$db")" = "$sum"
done
$k list --plugin "$tmp/nope.so" 2>"$tmp/err"
check "a missing plugin says it cannot be loaded" grep -q "nope.so: cannot load" "$tmp/err"
$k list --plugin "$libs/libktunresolved.so" 2>"$tmp/err"
check "an unresolved symbol is named" grep -q "kt_no_such_function" "$tmp/err"
$k list --plugin "$libs/libktbadplugin.so" 2>"$tmp/err"
check "a failed registration is explained" grep -q "registration failed.*bad name" "$tmp/err"
KTUNE_PLUGINS="$tmp/nope.so" expect 1 1 "a bad KTUNE_PLUGINS exits 1" -- $k list
expect 1 1 "two plugins registering one op: the second is refused" -- \
    $k list --plugin "$example" --plugin "$plugin"
expect 2 1 "--plugin without a path exits 2" -- $k list --plugin

# the example program: variants linked statically, kt_select, kt_tune_self
expect 0 0 "smooth_demo: every size agrees with scalar (defaults)" -- $demo
check "it said where each call went" grep -q "n=100000: .* agrees" "$tmp/out"
KTUNE_DB="$tmp/self.db" expect 0 any "smooth_demo --tune: kt_tune_self, then tuned calls" -- \
    $demo --tune 1000 200000
check "its calls are tuned" test "$(grep -c "(tuned) agrees" "$tmp/out")" = 2
db="$tmp/self.db"
check "kt_tune_self stored winners" test "$(q "SELECT count(*) FROM winners WHERE op='$op'")" -ge 2

echo "1..$n"
exit $((failed > 0))
