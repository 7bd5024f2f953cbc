#!/bin/sh
# onmain.sh FILE.ron: run a shrunk scenario on main's engine (fbdf0c2). The shrinker at 70650c0
# may leave `expect` empty; main refuses a scenario without a Log and an ObjectCounts, so two
# placeholder expectations (expected to fail) are added to a copy; read the transcript, not the verdict.
f=$1; t=/tmp/onmain-$(basename $f)
S=$(grep -oE 'serial: [0-9]+' $f | head -1 | cut -d' ' -f2)
python3 - "$f" "$t" "$S" <<'PY'
import sys,re
src,dst,serial=sys.argv[1:]
s=open(src).read()
s=re.sub(r'expect: \[\n', 'expect: [\n        Log("placeholder: no such line"),\n        ObjectCounts({%s: 999999}),\n' % serial, s, count=1)
open(dst,'w').write(s)
PY
${HASIM:-/work/campaign/hasim-main} run $t
