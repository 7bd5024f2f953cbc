"""Print the groups of a results file with counts and representative seeds (smallest, then spread)."""
import json, collections, sys
sys.path.insert(0, '/work/campaign/tools')
from groups import normalise, slug
files = sys.argv[1:]
c = collections.OrderedDict(); 
for f in files:
    for l in open(f):
        d = json.loads(l)
        if d.get('verdict') != 'fail': continue
        k = normalise(d['invariant'], d['detail'])
        c.setdefault(k, []).append(d['seed'])
for k, seeds in sorted(c.items(), key=lambda kv: -len(kv[1])):
    seeds.sort()
    reps = [seeds[0]] + [seeds[len(seeds)*i//3] for i in (1, 2) if len(seeds) > 3]
    print(f"{len(seeds)}\t{slug(k)}\t{' '.join(map(str, reps))}\t{k}")
