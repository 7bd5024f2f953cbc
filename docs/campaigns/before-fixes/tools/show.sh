#!/bin/sh
# show.sh FILE.ron: the shrunk scenario, compact
for f in "$@"; do
echo "=== $f"
grep -E '^\s+name:' $f | cut -c1-300
grep -E 'serial: ' $f | tr -d ' \n'; echo
grep -E '^\s+conf:' $f
grep -E 'retry|interval -|recoverymode|addstandby' $f | tr -s ' ' | tr '\n' ' '; echo
sed -n '/^    steps: \[/,/^    \],/p' $f | sed '1d;$d' | sed 's/^        //'
sed -n '/^    expect: \[/,/^    \],/p' $f | sed '1d;$d' | sed 's/^        /  EXPECT /'
done
