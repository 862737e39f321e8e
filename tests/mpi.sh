#!/bin/sh
# TAP: `ktune tune --mpi` under mpirun on this machine, with two simulated hardware
# classes (KTUNE_TEST_FINGERPRINT, tests only) and planted variants whose costs are
# known busy-waits (tests/mpi_tune.c): the gathered database against a merge of
# separate per-class runs (same measurement rows, same choices), a rank killed mid-run
# (the job fails, the file is consistent, a rerun resumes and ends with the same file),
# a writer whose database is read-only, and ktune itself with --mpi.  Timings mean
# nothing here: only structure is asserted.  Without MPI in the build, it checks that
# --mpi is a clear error.
set -u
b=${top_builddir:-.}
s=${top_srcdir:-.}
k="$b/ktune"
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
no() { n=$((n + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else no "$1"; return 1; fi; }

if [ "${KT_HAVE_MPI:-no}" != yes ]; then
    "$k" tune --mpi --quick --db /nonexistent/x.db >/dev/null 2>"${TMPDIR:-/tmp}/mpi-err.$$"
    rc=$?
    check "without MPI in the build, --mpi is a clear error (exit $rc)" \
        "[ $rc -eq 2 ] && grep -q 'built without MPI' '${TMPDIR:-/tmp}/mpi-err.$$'"
    rm -f "${TMPDIR:-/tmp}/mpi-err.$$"
    # A plan may carry a SKIP directive only when it plans no test (1..0).
    echo "# the rest not run: ktune was built without MPI (configure found none)"
    echo "1..$n"
    exit 0
fi
if [ -n "${KT_TEST_WRAPPER:-}" ]; then
    # valgrind would follow mpirun, not the ranks, and Open MPI's own allocations and
    # shared-memory transport drown memcheck's report; the ranks' code (the tuner) is
    # checked under valgrind by tests/tune.
    echo "1..0 # SKIP under KT_TEST_WRAPPER (valgrind): it cannot run the MPI ranks meaningfully"
    exit 0
fi
mpirun=${MPIRUN:-mpirun}
command -v "$mpirun" >/dev/null 2>&1 || {
    echo "1..0 # SKIP no mpirun (Debian: openmpi-bin)"
    exit 0
}

tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
chmod 0755 "$tmp"
# Open MPI on a fresh machine: root allowed, one node, no ssh, shared memory only, no
# cross-memory attach (containers refuse ptrace), no network transports probed.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_plm=isolated OMPI_MCA_btl=self,vader OMPI_MCA_pml=ob1
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_orte_tmpdir_base="$tmp" OMPI_MCA_mpi_yield_when_idle=1
# an ASan build: Open MPI's own allocations are not ktune's leaks (its components stay
# loaded, so that LeakSanitizer can name them in tests/mpi.supp)
export OMPI_MCA_mca_base_component_disable_dlclose=1 PMIX_MCA_mca_base_component_disable_dlclose=1
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"
export LSAN_OPTIONS="suppressions=$s/tests/mpi.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
mpi() { timeout -k 10 300 "$mpirun" --oversubscribe --bind-to none "$@"; }

if ! mpi -np 2 true >"$tmp/pre.out" 2>&1; then
    echo "1..0 # SKIP mpirun cannot start 2 ranks here: $(head -c 300 "$tmp/pre.out" | tr '\n' ' ')"
    exit 0
fi

t="$b/tests/mpi_tune"
sizes=1000,4000,16000,64000
A="env KTUNE_TEST_FINGERPRINT=test-class-a"
B="env KTUNE_TEST_FINGERPRINT=test-class-b KT_TEST_STEP=40000"
q() { sqlite3 "$1" "$2"; }
rows() {
    q "$1" "SELECT fingerprint, op, m, n, k, variant, version, valid FROM measurements
            JOIN machines ON machines.id = machine ORDER BY 1, 2, 3, 4, 5, 6, 7"
}
choices() {
    # not the decision's label (resolved or not): that is the timing's confidence
    q "$1" "SELECT fingerprint, op, m, n, k, rank, variant, version FROM choices
            JOIN machines ON machines.id = machine ORDER BY 1, 2, 3, 4, 5, 6"
}

# ---- the reference: one run per class, merged ----------------------------------------
$A "$t" --serial "$tmp/a.db" $sizes >/dev/null 2>"$tmp/err" &&
    $B "$t" --serial "$tmp/b.db" $sizes >/dev/null 2>>"$tmp/err" &&
    "$k" merge "$tmp/a.db" --db "$tmp/ref.db" >/dev/null 2>>"$tmp/err" &&
    "$k" merge "$tmp/b.db" --db "$tmp/ref.db" >/dev/null 2>>"$tmp/err"
rc=$?
check "separate runs of the two classes, merged, make the reference" "[ $rc -eq 0 ]" ||
    sed 's/^/# /' "$tmp/err"
check "the reference has both classes' choices, crossovers located by bisection" \
    "[ \"\$(q $tmp/ref.db 'SELECT count(DISTINCT machine) FROM choices')\" = 2 ] &&
     [ \"\$(q $tmp/ref.db 'SELECT count(*) FROM choices WHERE rank = 1')\" -gt 8 ]"

# ---- the job: rank 0 writes; class a has 1 measuring rank, class b 2 (one node) ------
mkdir "$tmp/node"
KT_TEST_OVERLAP_DIR="$tmp/node" mpi -np 2 $A "$t" "$tmp/fleet.db" $sizes : \
    -np 2 $B "$t" "$tmp/fleet.db" $sizes >"$tmp/out" 2>"$tmp/err"
rc=$?
check "mpirun -np 4 with two classes succeeds" "[ $rc -eq 0 ]" || sed 's/^/# /' "$tmp/err"
check "the three measuring ranks of this node never measured at the same time" \
    "[ ! -e $tmp/node/overlap ]"
check "the gathered database has the merged runs' measurement rows" \
    "[ \"\$(rows $tmp/fleet.db)\" = \"\$(rows $tmp/ref.db)\" ]"
check "the gathered database has the merged runs' choices" \
    "[ \"\$(choices $tmp/fleet.db)\" = \"\$(choices $tmp/ref.db)\" ]" ||
    { choices "$tmp/fleet.db" >"$tmp/k2"; choices "$tmp/ref.db" >"$tmp/r2"; diff "$tmp/r2" "$tmp/k2" | sed 's/^/# /'; }
check "one complete run per measuring rank, with its host and pid (class b: 2 ranks)" \
    "[ \"\$(q $tmp/fleet.db \"SELECT fingerprint, count(*), sum(status = 'complete') FROM runs
          JOIN machines ON machines.id = machine GROUP BY 1 ORDER BY 1\")\" = \
       \"\$(printf 'test-class-a|1|1\ntest-class-b|2|2')\" ] &&
     [ \"\$(q $tmp/fleet.db \"SELECT count(DISTINCT pid) FROM runs WHERE host != ''\")\" = 3 ]"
check "the file passes integrity_check" "[ \"\$(q $tmp/fleet.db 'PRAGMA integrity_check')\" = ok ]"
"$k" show --db "$tmp/fleet.db" --machine all >"$tmp/show" 2>&1
check "ktune show --machine all has the fleet summary (2 classes, 1 node, coverage)" \
    "grep -q '^fleet: 2 hardware classes' $tmp/show && grep -q 'test-class-b.*1 node' $tmp/show"
"$k" show --db "$tmp/fleet.db" --machine all --json >"$tmp/show.json" 2>&1
check "ktune show --json has the fleet summary (class b: 2 runs, 7 tuned sizes)" \
    "tr -d ' \n' <$tmp/show.json | grep -q '\"fingerprint\":\"test-class-b\",[^}]*\"runs\":2,\"complete_runs\":2,\"ops_tuned\":1,[^}]*\"tuned_sizes\":7'"
"$k" report --db "$tmp/fleet.db" --machine all --html "$tmp/r.html" 2>"$tmp/err"
check "ktune report has the fleet section" "grep -q '<h2>Fleet</h2>' $tmp/r.html && grep -q 'test-class-a' $tmp/r.html"

# ---- a rank killed mid-run -----------------------------------------------------------
# (Open MPI 4.1's mpirun now and then hangs after a rank's death, with every rank
# exited: a short timeout ends it, and the job counts as failed, as it is)
timeout -k 5 60 "$mpirun" --oversubscribe --bind-to none -np 2 $A "$t" "$tmp/kill.db" $sizes : \
    -np 2 $B KT_TEST_KILL_N=64000 "$t" "$tmp/kill.db" $sizes >"$tmp/out" 2>"$tmp/err"
rc=$?
check "a rank killed mid-run fails the job (mpirun exit $rc)" "[ $rc -ne 0 ]"
check "after the kill the file passes integrity_check" \
    "[ \"\$(q $tmp/kill.db 'PRAGMA integrity_check')\" = ok ]"
got=$(q "$tmp/kill.db" "SELECT count(*) FROM measurements")
check "what was measured before the kill is committed ($got rows), no run complete" \
    "[ $got -gt 0 ] && [ \"\$(q $tmp/kill.db \"SELECT count(*) FROM runs WHERE status = 'complete'\")\" = 0 ]"
# the killed job's ranks may still be exiting: their runs are reaped once they are gone
for pid in $(q "$tmp/kill.db" "SELECT pid FROM runs"); do
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
done
mpi -np 2 $A "$t" "$tmp/kill.db" $sizes : -np 2 $B "$t" "$tmp/kill.db" $sizes \
    >"$tmp/out" 2>"$tmp/err"
rc=$?
check "the rerun succeeds and reuses what was committed ($(cat "$tmp/out"))" \
    "[ $rc -eq 0 ] && grep -Eq 'reused [1-9]' $tmp/out" || sed 's/^/# /' "$tmp/err"
check "after the rerun the file matches the reference (rows and choices)" \
    "[ \"\$(rows $tmp/kill.db)\" = \"\$(rows $tmp/ref.db)\" ] &&
     [ \"\$(choices $tmp/kill.db)\" = \"\$(choices $tmp/ref.db)\" ]" ||
    { rows "$tmp/kill.db" >"$tmp/k1"; rows "$tmp/ref.db" >"$tmp/r1"; choices "$tmp/kill.db" >"$tmp/k2"
      choices "$tmp/ref.db" >"$tmp/r2"; diff "$tmp/r1" "$tmp/k1" | sed 's/^/# /'; diff "$tmp/r2" "$tmp/k2" | sed 's/^/# /'; }
check "the killed job's runs are no longer 'running'" \
    "[ \"\$(q $tmp/kill.db \"SELECT count(*) FROM runs WHERE status = 'running'\")\" = 0 ]"

# ---- a read-only database ----------------------------------------------------------------
# root writes through file modes: the writer then runs as nobody (setpriv)
as=""
if [ "$(id -u)" -eq 0 ]; then
    if command -v setpriv >/dev/null 2>&1 &&
        setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
        as="setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=$tmp"
    fi
fi
mkdir "$tmp/ro" "$tmp/mpitmp" && chmod 1777 "$tmp/mpitmp"
why="root writes read-only files, and setpriv cannot drop to nobody"
if [ -n "$as" ] && ! OMPI_MCA_orte_tmpdir_base="$tmp/mpitmp" $as timeout -k 5 60 "$mpirun" -np 1 \
    sh -c "test -x '$t' && test -r '$tmp/fleet.db'" >/dev/null 2>&1; then
    as="" why="nobody cannot run mpirun and $t here (a private build directory?)"
fi
if [ "$(id -u)" -ne 0 ] || [ -n "$as" ]; then
    cp "$tmp/fleet.db" "$tmp/ro/fleet.db" && chmod 0444 "$tmp/ro/fleet.db" && chmod 0555 "$tmp/ro"
    sum=$(sha256sum <"$tmp/ro/fleet.db")
    list=$(ls -a "$tmp/ro")
    OMPI_MCA_orte_tmpdir_base="$tmp/mpitmp" $as timeout -k 10 300 "$mpirun" --oversubscribe \
        --bind-to none -np 3 $A "$t" "$tmp/ro/fleet.db" $sizes >"$tmp/out" 2>"$tmp/err"
    rc=$?
    check "a read-only database: exit $rc, one clear error" \
        "[ $rc -ne 0 ] && grep -q 'read-only' $tmp/err && [ \"\$(grep -c 'mpi_tune:' $tmp/err)\" = 1 ]" ||
        sed 's/^/# /' "$tmp/err"
    check "the read-only database is unchanged, nothing written beside it" \
        "[ \"\$(sha256sum <$tmp/ro/fleet.db)\" = \"$sum\" ] && [ \"\$(ls -a $tmp/ro)\" = \"$list\" ]"
    OMPI_MCA_orte_tmpdir_base="$tmp/mpitmp" $as timeout -k 10 300 "$mpirun" --oversubscribe \
        --bind-to none -np 3 $A "$t" "$tmp/ro/new.db" $sizes >"$tmp/out" 2>"$tmp/err"
    rc=$?
    check "a database in a read-only directory: exit $rc, no partial file" \
        "[ $rc -ne 0 ] && [ ! -e $tmp/ro/new.db ] && [ \"\$(ls -a $tmp/ro)\" = \"\$list\" ]"
else
    for w in "a read-only database" "the read-only database is unchanged" "a read-only directory"; do
        n=$((n + 1)); echo "ok $n # SKIP $w: $why"
    done
fi

# ---- ktune itself -------------------------------------------------------------------------
mpi -np 3 "$k" tune --mpi --quick --ops add_scalar_f32 --sizes 100,10000 --variants scalar,avx2 \
    --db "$tmp/cli.db" >"$tmp/out" 2>"$tmp/err"
rc=$?
check "mpirun -np 3 ktune tune --mpi succeeds and reports once" \
    "[ $rc -eq 0 ] && [ \"\$(grep -c '^tuned ' $tmp/out)\" = 1 ]" || sed 's/^/# /' "$tmp/err"
check "its database has this machine's choices at both sizes, two measuring runs" \
    "[ \"\$(q $tmp/cli.db \"SELECT count(DISTINCT n) FROM choices WHERE op = 'add_scalar_f32'\")\" = 2 ] &&
     [ \"\$(q $tmp/cli.db \"SELECT count(*) FROM runs WHERE status = 'complete'\")\" = 2 ]"
ncpu=$(getconf _NPROCESSORS_ONLN)
if [ "$ncpu" -ge 2 ]; then
    # two ranks on a node of 2 or more CPUs: Open MPI binds each to a core by default
    timeout -k 10 300 "$mpirun" -np 2 --bind-to core "$k" tune --mpi --quick --ops add_scalar_f32 \
        --sizes 100 --db "$tmp/bound.db" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    check "ranks bound to a core each are refused (exit $rc, --bind-to none), nothing written" \
        "[ $rc -eq 1 ] && grep -q 'bind-to none' $tmp/err && [ ! -e $tmp/bound.db ]" || sed 's/^/# /' "$tmp/err"
else
    n=$((n + 1)); echo "ok $n # SKIP one CPU: binding to a core changes nothing"
fi
mpi -np 1 "$k" tune --mpi --quick --ops add_scalar_f32 --sizes 100 --db "$tmp/one.db" \
    >"$tmp/out" 2>"$tmp/err"
rc=$?
check "one rank is a clear error (exit $rc), nothing written" \
    "[ $rc -eq 1 ] && grep -q 'at least 2 ranks' $tmp/err && [ ! -e $tmp/one.db ]"
"$k" tune --quick --ops add_scalar_f32 --sizes 100 --no-verify --db "$tmp/plain.db" >/dev/null 2>"$tmp/err"
rc=$?
check "a ktune built with MPI still tunes without mpirun" "[ $rc -eq 0 ]"
echo "1..$n"
