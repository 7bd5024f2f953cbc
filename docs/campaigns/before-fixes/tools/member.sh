#!/bin/sh
# member.sh SEED [N]: the last N transcript lines about the violation's member (70650c0 tool)
B=/work/campaign/target-prefix/release/hasim
$B replay --seed $1 > /tmp/seed$1.txt
V=$(tail -1 /tmp/seed$1.txt); echo "$V"
M=$(echo "$V" | grep -oE '15000000000[0-9]{2}' | head -1)
head -1 /tmp/seed$1.txt | cut -c1-400
grep -n "$M\|hagroup recover\|retry -count\|interval -interval\|recoverymode\|checkpoint\|Logout\|Login\|Finalize\|all members" /tmp/seed$1.txt | grep -v "objects .* used" | tail -${2:-30} | cut -c1-260
