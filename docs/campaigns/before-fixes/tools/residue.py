import json,sys,re
sys.path.insert(0,'/work/campaign')
import classify as C
rule=sys.argv[1]; n=int(sys.argv[2]) if len(sys.argv)>2 else 5
cache={}
for l in open('/work/campaign/features-measure.jsonl'):
    d=json.loads(l); cache[d['seed']]=d
det={}
for l in open('/work/campaign/measure-2000.jsonl'):
    d=json.loads(l)
    if d.get('verdict')=='fail': det[d['seed']]=d['detail']
k=0
for l in open('/work/campaign/classes-measure.tsv'):
    seed,inv,cls,r,key=l.rstrip('\n').split('\t')
    if r!=rule: continue
    seed=int(seed); f=C.features(seed,'\n'.join(cache[seed]['lines']),det[seed])
    print('##',seed,det[seed][:250])
    print('   opts',f['opts'].get('mode'),'fod',f['opts'].get('fod'),'standby',f['opts'].get('standby'),f['opts'].get('faults'))
    print('   at',f['at'],'heal',f['heal'])
    yield_lines=[x for x in '\n'.join(cache[seed]['lines']).splitlines() if x.startswith('[') and abs(int(x[1:].split(']')[0].strip().replace('.',''))-f['at'])<=int(sys.argv[3] if len(sys.argv)>3 else 0)]
    for x in yield_lines[-14:]: print('   ',x[:200])
    k+=1
    if k>=n: break
