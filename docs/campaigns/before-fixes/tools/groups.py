"""Normalise a failure's detail into a group key (invariant + message with numbers, serials,
times, labels and member/object lists stripped; result codes and operation kinds kept)."""
import re

def normalise(inv, detail):
    d = detail
    # drop the HA log line's ctime/pid/group prefix, keep its message
    d = re.sub(r'\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4} : \[\d+\] HA group: \d+ ', '', d)
    d = re.sub(r'label: "[a-z]+\d+"', 'label: L', d)
    d = re.sub(r'\b(Code: )0x[0-9A-F]+', r'\1', d)
    d = re.sub(r'\b([kdx])\d+\b', r'\1#', d)         # object labels
    d = re.sub(r'\b\d+\b', 'N', d)
    d = re.sub(r'N(, N)+', 'N', d)                  # member lists
    d = re.sub(r'\b[kdx]#(, [kdx]#)*', 'OBJ', d)      # object lists
    d = re.sub(r'Create \{ label: L, token: \w+, pair: \w+ \}', 'Create', d)
    d = re.sub(r'\(CKR_[A-Z_]+\), so the prereq', '(CKR_*), so the prereq', d)
    return f'{inv} {d}'

def objs(s):
    kinds = sorted(set(x.strip()[0] for x in s.split(',')))
    return '{' + ''.join(kinds) + '}*'

def slug(key):
    return re.sub(r'[^a-z0-9]+', '-', key.lower()).strip('-')[:70]
