#!/bin/sh
# shrink-reps.sh REPS.tsv: shrink each group's representative seeds with the 70650c0 tool.
B=/work/campaign/target-prefix/release/hasim
i=0
while IFS="$(printf '\t')" read -r n slug seeds key; do
  i=$((i+1)); g=$(printf 'g%02d' $i)
  for s in $seeds; do
    f=/work/campaign/shrunk/$g-seed$s.ron
    [ -f $f ] && continue
    timeout 300 nice -n 10 $B replay --seed $s --shrink --out $f > /dev/null 2>> /work/campaign/shrunk/shrink.log
    echo "$g $s rc=$? $key" >> /work/campaign/shrunk/index.txt
  done
done < "$1"
echo finished >> /work/campaign/shrunk/index.txt
