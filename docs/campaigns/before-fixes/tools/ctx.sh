#!/bin/sh
# ctx.sh SEED [BEFORE_MS]: the transcript lines at the violation's instant (70650c0 tool)
B=/work/campaign/target-prefix/release/hasim
[ -f /tmp/seed$1.txt ] || $B replay --seed $1 > /tmp/seed$1.txt
V=$(tail -1 /tmp/seed$1.txt); echo "## $1 $V" | cut -c1-330
head -1 /tmp/seed$1.txt | cut -c1-330
T=$(echo "$V" | grep -oE 'at [0-9]+ ms' | head -1 | grep -oE '[0-9]+')
[ -z "$T" ] && exit 0
awk -v t=$T -v b=${2:-1} '/^\[ *[0-9]/{x=$0; sub(/^\[ */,"",x); sub(/\].*/,"",x); if (x*1000>=t-b && x*1000<=t+1) print}' /tmp/seed$1.txt | cut -c1-230 | tail -${3:-16}
