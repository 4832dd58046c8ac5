#!/usr/bin/env bash
# Held-out decoder text beyond the embedded KJV corpus: modern English technical prose with code,
# from the Python 3.11 documentation sources that Debian ships in python3.11-doc (reST, PSF
# licence: see LICENSE beside this script). The tutorial, FAQ and HOWTO documents are used.
#
# Deterministic: documents sorted by path (C locale); document k (0-based) goes to test.txt when
# k % 5 == 2, to calibration.txt otherwise, so evaluation text never overlaps calibration text.
# Each document is lightly cleaned of reST markup that is not text a reader sees: labels
# (".. _name:"), comments, and the blocks of index/highlight/toctree/module/author directives,
# each with its indented body. Runs of blank lines become one. Everything else (headings with
# their underlines, code samples, inline roles) is kept as written. Documents are separated by
# one blank line. Output: test.txt, calibration.txt and LICENSE beside this script, all committed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=${PYTHON_DOC_SOURCES:-/usr/share/doc/python3.11/html/_sources}
[ -d "$src/tutorial" ] || {
  echo "make_text.sh: $src/tutorial not found: apt-get install python3.11-doc" >&2; exit 2; }

clean() {  # one reST document on stdin, cleaned text on stdout
  LC_ALL=C awk '
    function flush_blank() { if (pending && printed) print ""; pending = 0 }
    # A dropped block: a label, a comment, or one of these directives, plus its indented body.
    /^\.\. _[^:]*:[ \t]*$/ { skip = 1; next }
    /^\.\. (index|highlight|toctree|module|currentmodule|sectionauthor|moduleauthor|testsetup|testcleanup|only)::/ { skip = 1; next }
    /^\.\.([ \t]|$)/ && !/^\.\. [A-Za-z0-9_-]+::/ && !/^\.\. \|/ { skip = 1; next }
    skip && (/^[ \t]/ || /^[ \t]*$/) { next }
    { skip = 0 }
    /^[ \t]*$/ { pending = 1; next }
    { flush_blank(); print; printed = 1 }'
}

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
: > "$tmp/test.txt"; : > "$tmp/calibration.txt"
k=0
while IFS= read -r doc; do
  if (( k % 5 == 2 )); then out=test; else out=calibration; fi
  [ -s "$tmp/$out.txt" ] && echo >> "$tmp/$out.txt"
  clean < "$src/$doc" >> "$tmp/$out.txt"
  echo "$out $doc" >> "$tmp/split.txt"
  k=$((k + 1))
done < <(cd "$src" && find tutorial faq howto -name '*.rst.txt' ! -name index.rst.txt | LC_ALL=C sort)
# The PSF licence asks that its agreement and copyright notice travel with any part of the docs.
{
  echo "The texts test.txt and calibration.txt are excerpts (cleaned as make_text.sh says) of the"
  echo "Python 3.11 documentation, $(dpkg-query -W -f='python3.11-doc ${Version}' python3.11-doc 2>/dev/null || echo python3.11-doc)."
  echo
  echo "Copyright (c) 2001-2023 Python Software Foundation; All Rights Reserved"
  echo
  LC_ALL=C awk '/^PSF LICENSE AGREEMENT/ { on = 1 } /^BEOPEN.COM LICENSE/ { on = 0 } on && !/^\.\. / && !/^---/' \
    "$src/license.rst.txt" | sed 's/|release|/3.11/g; s/^   //'
} > "$tmp/LICENSE"
mv "$tmp/LICENSE" "$here/LICENSE"
mv "$tmp/test.txt" "$here/test.txt"
mv "$tmp/calibration.txt" "$here/calibration.txt"
cat "$tmp/split.txt"
wc -c "$here/test.txt" "$here/calibration.txt"
