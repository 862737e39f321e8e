#!/bin/bash
# TAP: where `ktune report` writes.  A regular file is replaced (its mode kept), but
# special files are written in place, never replaced by a regular file: a character
# device (a private copy of /dev/null made with mknod, then, as root, /dev/null itself)
# stays a device, a FIFO gets the report (a reader cat in the background), a symlink
# stays a symlink and the file it points to gets the report (for --html and --svg); a
# directory is refused with exit 1 and one line, leaving no temporary file behind.
set -u
: "${top_builddir:?}"
k="$top_builddir/ktune"
tmp=$(mktemp -d)
reader=""
trap '[ -n "$reader" ] && kill "$reader" 2>/dev/null; rm -rf "$tmp"' EXIT
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
no() {
    n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"
    [ -f "$tmp/err" ] && sed 's/^/# /' "$tmp/err" | head -5
}
check() { local desc=$1; shift; if "$@"; then ok "$desc"; else no "$desc"; fi; }
export KTUNE_DB="$tmp/t.db"
# report CODE ARGS...: runs ktune report, true when it exits CODE
report() { local code=$1; shift; "$k" report "$@" >"$tmp/out" 2>"$tmp/err"; [ $? -eq "$code" ]; }
is_report() { grep -q '</html>' "$1"; }

"$k" tune --quick --ops add_scalar_f32 --sizes 100,1000 >"$tmp/err" 2>&1 ||
    { echo "1..0 # SKIP could not tune a test database"; exit 0; }

# a regular file: replaced, mode kept
echo old >"$tmp/r.html" && chmod 0640 "$tmp/r.html"
report 0 --html "$tmp/r.html"
check "a regular file is replaced by the report" is_report "$tmp/r.html"
check "the replaced file keeps its mode (0640)" test "$(stat -c %a "$tmp/r.html")" = 640

# character devices
if [ "$(id -u)" -eq 0 ] && mknod "$tmp/null" c 1 3 2>/dev/null; then
    report 0 --html "$tmp/null"
    if [ "$(stat -c %F "$tmp/null")" = "character special file" ]; then
        ok "--html on a character device (mknod'd null) leaves it a character device"
        report 0 --html /dev/null
        check "--html /dev/null succeeds" test $? -eq 0
        check "--html /dev/null leaves /dev/null a character device" \
            test "$(stat -c %F /dev/null)" = "character special file"
    else
        no "--html on a character device (mknod'd null) leaves it a character device"
        n=$((n + 1)); echo "ok $n # SKIP /dev/null itself not tried: it would be replaced"
        n=$((n + 1)); echo "ok $n # SKIP /dev/null itself not tried: it would be replaced"
    fi
else
    for i in 1 2 3; do n=$((n + 1)); echo "ok $n # SKIP device nodes need root (mknod)"; done
fi

# a FIFO: the reader gets the whole report, the FIFO stays
mkfifo "$tmp/fifo"
# (bounded: a FIFO replaced by a file would leave the reader waiting)
timeout 30 cat "$tmp/fifo" >"$tmp/fifo.out" &
reader=$!
report 0 --html "$tmp/fifo"
rc=$?
wait "$reader"
reader=""
check "--html on a FIFO succeeds" test "$rc" -eq 0
check "a reader of the FIFO gets the whole report" is_report "$tmp/fifo.out"
check "the FIFO stays a FIFO" test "$(stat -c %F "$tmp/fifo")" = fifo

# symlinks: kept, their targets written
mkdir "$tmp/elsewhere" "$tmp/svg"
echo old >"$tmp/elsewhere/real.html"
ln -s elsewhere/real.html "$tmp/link.html"
report 0 --html "$tmp/link.html"
check "a symlink stays a symlink" test -L "$tmp/link.html"
check "the file the symlink points to gets the report" is_report "$tmp/elsewhere/real.html"
ln -s ../elsewhere/plot.svg "$tmp/svg/add_scalar_f32.svg"
report 0 --svg "$tmp/svg"
check "--svg: a symlinked plot file stays a symlink" test -L "$tmp/svg/add_scalar_f32.svg"
check "--svg: the symlink's target gets the plot" grep -q '</svg>' "$tmp/elsewhere/plot.svg"

# a directory: refused, one line, nothing left beside it
mkdir "$tmp/dir.html"
report 1 --html "$tmp/dir.html"
check "--html on a directory exits 1" test $? -eq 0
check "... with one line on stderr" test "$(wc -l <"$tmp/err")" -eq 1
check "... that says it is a directory" grep -q 'is a directory' "$tmp/err"
check "... and leaves no temporary file" test -z "$(find "$tmp" -name '*.tmp-*')"
check "... and the directory as it was" test -z "$(ls -A "$tmp/dir.html")"

echo "1..$n"
[ "$failed" -eq 0 ]
