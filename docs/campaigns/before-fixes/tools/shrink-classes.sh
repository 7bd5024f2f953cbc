#!/bin/sh
# shrink-classes.sh "CLASS:SEED ...": shrink a representative seed per class (70650c0 tool)
B=/work/campaign/target-prefix/release/hasim
for cs in $1; do
  c=${cs%%:*}; s=${cs##*:}
  f=/work/campaign/shrunk/class-$c-seed$s.ron
  [ -f $f ] || timeout 300 nice -n 10 $B replay --seed $s --shrink --out $f 2>> /work/campaign/shrunk/shrink.log >/dev/null
  echo "$c $s $(grep -m1 'name:' $f | cut -c1-200)"
done
