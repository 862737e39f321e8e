#!/bin/bash
# TAP: the ktune(1) man page (docs/ktune.1, made by scripts/mkman) and the tool agree:
# it has a section for exactly the commands of `ktune --help`, in that order, each
# section names every option of that command's --help, and groff formats it without
# a warning.  When this fails, regenerate it: scripts/mkman ./ktune > docs/ktune.1
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
k="$top_builddir/ktune"
page="$top_srcdir/docs/ktune.1"
echo "1..3"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fix="(regenerate: scripts/mkman ./ktune > docs/ktune.1)"

"$k" --help | sed -n '/^commands:/,/^$/p' | sed -n 's/^  \([a-z][a-z]*\) .*/\1/p' >"$tmp/help"
sed -n 's/^\.SS ktune \([a-z]*\)$/\1/p' "$page" >"$tmp/man"
if [ -s "$tmp/help" ] && diff "$tmp/help" "$tmp/man" >"$tmp/diff"; then
    echo "ok 1 - the man page has a section for each command of ktune --help, in order" \
        "($(wc -l <"$tmp/help"))"
else
    echo "not ok 1 - the man page's commands are ktune --help's $fix"
    sed 's/^/# /' "$tmp/diff"
fi

# each section: from its .SS line to the next .SS or .SH
missing=""
while read -r c; do
    awk -v c="$c" '$0 == ".SS ktune " c { on = 1; next } /^\.S[SH] / { on = 0 } on' "$page" |
        sed 's/\\-/-/g' >"$tmp/section"
    for o in $("$k" "$c" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
        grep -q -- "$o\\b" "$tmp/section" || missing="$missing $c:$o"
    done
done <"$tmp/help"
if [ -z "$missing" ]; then
    echo "ok 2 - each command's section names every option of its --help"
else
    echo "not ok 2 - options missing from the man page:$missing $fix"
fi

if ! command -v groff >/dev/null 2>&1; then
    echo "ok 3 # SKIP no groff here"
elif groff -man -Tutf8 -ww -z "$page" >"$tmp/groff" 2>&1 && [ ! -s "$tmp/groff" ]; then
    echo "ok 3 - groff formats the man page without a warning"
else
    echo "not ok 3 - groff formats the man page without a warning"
    sed 's/^/# /' "$tmp/groff" | head -10
fi
