#!/bin/sh
# onold.sh FILE.ron: the same as onmain.sh, on the 70650c0 tool
HASIM=/work/campaign/target-prefix/release/hasim exec /work/campaign/tools/onmain.sh "$@"
