#!/usr/bin/env python3
"""Sort the failures of a `hasim explore` campaign (run at 70650c0, generator v2) into the
nineteen classes of issue 9 or new classes, mechanically, so the per-class counts are
reproducible.

    python3 classify.py prefix-0.jsonl prefix-1.jsonl ... [--jobs 2] [--no-replay]
        [--out classes.tsv] [--cache features.jsonl]

Output: counts per invariant, per class (with the smallest seed and its replay line) and per
class and rule; `--out` writes one line per failure: seed, invariant, class, rule, group.

Method
  1. Group: invariant + the failure's detail with numbers, serials, times, labels and
     member/object lists stripped (tools/groups.py: `normalise`).
  2. Features: for groups whose message alone does not name a class, the seed is replayed with
     the 70650c0 tool (`hasim replay --seed S`, deterministic) and a few facts are read from its
     transcript (seed line options, the lines at the violation's instant, armed faults that
     fired, the heal's start, operator commands, the application's login state). The compact
     transcripts are cached in `--cache` (one JSON line per seed), so a second run replays
     nothing; `--no-replay` uses only what the cache holds (the rest stays "? needs replay").
     The replays are deterministic, so the counts do not depend on the cache.
  3. Rules (RULES below, first match wins) map (group, features) to a class: "1".."19" (issue 9),
     or a new class "N-..." (engine behaviour outside the nineteen) or "T-..." (the exploration
     tool itself: generator, checker or runner, not the engine), or "?" (unclassified).

Every rule names the evidence it uses; the report (docs/campaigns/before-fixes-100k.md)
explains each class. Second pass (2026-12-02): rules for the 1,116 seeds the first pass left
unclassified (none are left); the class-1 "second 0x101" and class-8 "heal's logged-out
recovery" rules read creation, destruction and 0x101 lines, kept in compact transcripts of
version 2 (`COMPACT_VERSION`): an older cache entry is replayed when such a rule needs it.
"""
import argparse
import collections
import datetime
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'tools'))
from groups import normalise  # noqa: E402

HASIM = '/work/campaign/target-prefix/release/hasim'
SERIAL_BASE = 1_500_000_000_001
RECEIVE_TIMEOUT_MS = 20_000

# ---- features from a transcript -------------------------------------------------------------

LINE = re.compile(r'^\[\s*(\d+)\.(\d{3})\] (\S+)\s+(.*)$')
SCHEDULED = re.compile(r'^(\w+) (\d{13})(?: \d+ ms per call)? scheduled at ([\d.]+) during the threads$')
LOG_EPOCH = datetime.datetime(2017, 10, 4, 16, 29, 21)
CLOCK = re.compile(r'^\w{3} (\w{3} +\d+ \d\d:\d\d:\d\d \d{4}) : \[\d+\] HA group: \d+ (.*)$')


def options(seedline):
    m = re.match(r'seed (\d+) generator v(\d+) members (\d+) standby (\d+) spare (\d+) retry (-?\d+) '
                 r'interval (\d+) mode (\w+) haonly (\d) failover_on_deactivation (\d) synchronize (\d) '
                 r'operations (\d+) threads (\d+) ops \{(.*?)\} faults \{(.*?)\}', seedline)
    if not m:
        return {}
    g = m.groups()
    members = int(g[2])
    standby = int(g[3])
    serials = [str(SERIAL_BASE + i) for i in range(members)]
    return {
        'members': members, 'standby': serials[members - standby:], 'retry': int(g[5]),
        'mode': g[7], 'fod': g[9] == '1', 'ops': g[13].split(', '), 'faults': g[14].split(', '),
    }


def features(seed, transcript, detail, version=1):
    lines = transcript.splitlines()
    f = {'seed': seed, 'opts': options(lines[0]) if lines else {}, 'v': version}
    events = []
    for line in lines:
        m = LINE.match(line)
        if m:
            events.append((int(m.group(1)) * 1000 + int(m.group(2)), m.group(3), m.group(4)))
    m = re.search(r' at (\d+) ms', detail or '')
    at = int(m.group(1)) if m else (events[-1][0] if events else 0)
    # I3 details quote the HA log line: its instant is the first transcript line with that text.
    q = re.search(r'(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4} : \[\d+\] HA group: \d+ .*)$', detail or '')
    if q:
        for t, kind, text in events:
            if kind == 'log' and text == q.group(1):
                at = t
                break
    f['at'] = at
    f['events'] = events
    heal = None
    # The heal restores, activates and sets back the credential of every member at one instant
    # just before the `healed` checkpoint: its start is the last `LoginRestore` before it.
    for t, kind, text in events:
        if kind == 'checkpoint' and '"healed"' in text:
            break
        if kind == 'fault' and text.startswith('LoginRestore '):
            heal = t
    f['heal'] = heal
    f['fired'] = [(t, text) for t, kind, text in events if kind == 'fault' and ' fired ' in text]
    f['fired_after_heal'] = [(t, x) for t, x in f['fired'] if heal is not None and heal <= t <= at]
    f['at_lines'] = [f'{kind} {text}' for t, kind, text in events if t == at][:400]
    f['cmds'] = [(t, text) for t, kind, text in events if kind == '>']
    f['faults'] = [(t, text) for t, kind, text in events if kind == 'fault' and ' fired ' not in text]
    f['log'] = [(t, re.sub(r'^.*? HA group: \d+ ', '', text)) for t, kind, text in events if kind == 'log']
    f['sync_output'] = [l.strip() for l in lines if 'hagroup synchronize' in l and 'Error' in l][:3]
    # Faults scheduled inside a `Threads` step: (recorded at, scheduled at, kind, member). The
    # transcript records them when the block starts; the checker puts them at their scheduled
    # instant.
    f['sched'] = []
    for t, kind, text in events:
        s = SCHEDULED.match(text) if kind == 'fault' else None
        if s:
            f['sched'].append((t, round(float(s.group(3)) * 1000), s.group(1), s.group(2)))
    # Every HA log line with its own clock (the engine's stamp, ms since the run's start) beside
    # the instant the transcript recorded it: (recorded at, stamped at, message).
    # Every generated run starts its clock at LOG_EPOCH (its first line, at 0 ms).
    f['stamped'] = []
    for t, kind, text in events:
        c = CLOCK.match(text) if kind == 'log' else None
        if c:
            when = datetime.datetime.strptime(c.group(1), '%b %d %H:%M:%S %Y')
            f['stamped'].append((t, int((when - LOG_EPOCH).total_seconds()) * 1000, c.group(2)))
    # The application's login over time (approximate: the generator keeps one session open).
    login = []
    basic = f['opts'].get('mode') == 'activeBasic'
    for t, kind, text in events:
        if kind == 'app' and re.match(r'C_Login -> CKR_OK', text):
            login.append((t, True))
        elif kind == 'app' and re.match(r'(C_Logout|C_CloseSession|C_Finalize)', text):
            login.append((t, False))
        elif kind == '>' and text.startswith('hagroup recoverymode -mode'):
            basic = 'activeBasic' in text
        elif kind == 'log' and text.endswith('all members gone offline.') and basic:
            login.append((t, False))
    f['login'] = login
    return f


KEEP_APP = re.compile(r'app   (C_|GenerateKeyOnSlot|GenerateKey\(|GenerateSessionKey\(|CreateData\(|Destroy\(|DestroyPair\()'
                      r'|CKR_USER_NOT_LOGGED_IN')


def compact(transcript):
    """The transcript lines the features read: the seed line, every non-application line,
    session/login calls, creations and destructions, calls answered CKR_USER_NOT_LOGGED_IN, and
    the synchronize output (LunaCM error lines). (Creations, destructions and 0x101 answers were
    added on 2026-12-02; cache lines written before lack them, so the rules that read them
    refresh the cache for their seeds: see `REFRESH`.)"""
    out = []
    for i, line in enumerate(transcript.splitlines()):
        m = LINE.match(line)
        if i == 0 or (m and (m.group(3) != 'app' or KEEP_APP.search(line))) or 'hagroup synchronize' in line:
            out.append(line)
    return out


# The cache's compact transcripts: 1 = before 2026-12-02 (no creation, destruction or 0x101
# lines), 2 = with them. A rule that reads those lines asks for a replay of a version-1 entry.
COMPACT_VERSION = 2
STALE = 'needs replay features (cached compact transcript older than version 2)'


def replay(seed):
    out = subprocess.run([HASIM, 'replay', '--seed', str(seed)], capture_output=True, text=True)
    return {'seed': seed, 'lines': compact(out.stdout), 'v': COMPACT_VERSION}


# ---- rules --------------------------------------------------------------------------------

def member_of(detail):
    m = re.search(r'member (\d{13})', detail)
    return m.group(1) if m else None


def witnesses(detail):
    m = re.search(r'usable member\(s\) ([\d, ]+) ', detail)
    return [w.strip() for w in m.group(1).split(',')] if m else []


def threads_fault_misplaced(f, members, at, line=None):
    """A fault of a `Threads` block on one of `members` that the checker places before `at` (at
    its scheduled instant) although the engine met it only later: scheduled at an instant the
    block started after (T-threads-fault-past), or scheduled at the block's own start and
    recorded before the log lines of the block's session opening (where a pending manual
    recovery runs, B45), which the engine wrote before the fault applied (T-threads-fault-order).
    Returns the class or None."""
    for recorded, scheduled, kind, member in f['sched']:
        if member not in members:
            continue
        if scheduled <= at <= recorded and scheduled < recorded:
            return 'T-threads-fault-past'
        if scheduled == at == recorded:
            return 'T-threads-fault-order'
    return None


def slow_in_force(f, t0, t1):
    """A `Slow` fault (any member) in force at some instant of [t0, t1] by the transcript."""
    slow = {}
    hit = False
    for t, x in sorted(f['faults']):
        if t > t1:
            break
        s = re.match(r'(Slow|Restore) (\d{13})(?: \d+ ms per call)?$', x)
        if not s:
            continue
        if s.group(1) == 'Slow':
            slow[s.group(2)] = t
        elif s.group(2) in slow:
            if t >= t0:
                hit = True
            del slow[s.group(2)]
    return hit or bool(slow)


def threads_drop_after_restore(f, member, at):
    """A `Threads` fault on `member` scheduled at an instant before the block started, with a
    `Restore` of that member recorded in between: the checker orders the fault before the
    Restore (member healthy afterwards), the engine met it when the block started, after the
    Restore (member down)."""
    ev = f['events']
    for i, (t, kind, text) in enumerate(ev):
        s = SCHEDULED.match(text) if kind == 'fault' and t <= at else None
        if not s or s.group(2) != member:
            continue
        scheduled = round(float(s.group(3)) * 1000)
        if any(scheduled <= ev[j][0] and ev[j][1] == 'fault' and ev[j][2] == f'Restore {member}'
               for j in range(i)):
            return True
    return False


def exhausted(f, member, at):
    """The engine logged `exceeded maximum ...` for `member` before `at` and neither a
    `hagroup recover` (D9: resets exhausted members) nor a success came after it."""
    exc = [t for t, msg in f['log'] if t < at and msg.startswith(
        f'exceeded maximum number of autorecovery attempts for member: {member}.')]
    if not exc:
        return False
    last = max(exc)
    back = [t for t, msg in f['log'] if last < t < at and (
        re.match(rf'recovery attempt \d+ succeeded for member: {member}$', msg)
        or msg == f'detected new member member: {member}')]
    recovers = [t for t, c in f['cmds'] if c == 'hagroup recover' and last < t < at]
    return not back and not recovers


def new_member_revoked(f, member, at):
    """`member` was detected as a new member and logged `revoked` at the same instant, and no
    `succeeded` for it came since (bug 6 with a revoked member)."""
    det = [t for t, msg in f['log'] if t < at and msg == f'detected new member member: {member}']
    if not det:
        return False
    d = max(det)
    revoked = any(t == d and msg == f'member: {member} revoked' for t, msg in f['log'])
    back = any(d < t < at and re.match(rf'recovery attempt \d+ succeeded for member: {member}$', msg)
               for t, msg in f['log'])
    return revoked and not back


def login_walk(f):
    """The application's login state after each transcript event (same reading as
    `features`' `login`, but per event, so simultaneous lines keep their order)."""
    state = []
    logged = False
    basic = f['opts'].get('mode') == 'activeBasic'
    for t, kind, text in f['events']:
        if kind == 'app' and re.match(r'C_Login -> CKR_OK', text):
            logged = True
        elif kind == 'app' and re.match(r'(C_Logout|C_CloseSession|C_Finalize)', text):
            logged = False
        elif kind == '>' and text.startswith('hagroup recoverymode -mode'):
            basic = 'activeBasic' in text
        elif kind == 'log' and text.endswith('all members gone offline.') and basic:
            logged = False
        state.append(logged)
    return state


def out_of_service(f, upto):
    """Members whose last log line about them up to the call events[upto] and what it logged
    (the lines before the next application call) took them out of service (drop,
    deactivation, revocation, failed attempt, exclusion)."""
    ev = f['events']
    end = next((j for j in range(upto + 1, len(ev)) if ev[j][1] == 'app'), len(ev))
    out = set()
    for i, (t, kind, text) in enumerate(ev[:end]):
        if kind != 'log':
            continue
        msg = re.sub(r'^.*? HA group: \d+ ', '', text)
        m = re.match(r'(?:has dropped member: |member: |unable to reach member: |member |'
                     r'recovery attempt \d+ failed for member: |recovery attempt )(\d{13})'
                     r'(?:$| deactivated| revoked|\. | is not activated)', msg)
        if m:
            out.add(m.group(1))
        m = re.match(r'(?:recovery attempt \d+ succeeded for member: |detected new member member: )(\d{13})$', msg)
        if m:
            out.discard(m.group(1))
    return out


def classify(inv, detail, key, f):
    """The class of one failure: (class, rule name)."""
    if inv == 'PANIC':
        return 'T-panic', 'generator panics (empty fault-kind set)'
    if inv == 'ERR':
        return 'T-err', 'scenario does not load/run'
    if inv == 'I0' and 'hagroup addmember' in detail:
        return 'T-refused-step', 'I0: addmember refused inside MemberAdded stops the run'
    if inv == 'I0':
        return '?', 'I0 other'
    # Messages that name their class alone.
    if inv == 'I2' and detail.startswith('SignInit') and 'CKR_OBJECT_HANDLE_INVALID' in detail:
        # (Bug 9 shows the same message when the member lacking the key was added while the
        # application was logged out; checked with replay features on seeds 1..2000: none.)
        return '13', 'SignInit to a member lacking the key'
    if inv == 'I3' and 'past the retry count' in detail:
        return '17', 'attempt past a lowered retry count'
    if inv == 'I7':
        return '15', 'key used without login'
    if inv == 'I2' and detail.startswith('Create') and 'CKR_USER_NOT_LOGGED_IN' in detail:
        return '1', 'creation on a deactivated primary returns USER_NOT_LOGGED_IN'
    if inv == 'I2' and 'CKR_TOKEN_NOT_RECOGNIZED' in detail:
        return '3', 'TOKEN_NOT_RECOGNIZED passed to the application'
    if inv == 'I2' and detail.startswith('Destroy') and 'CKR_OBJECT_HANDLE_INVALID' in detail:
        return '2', 'destroy returns OBJECT_HANDLE_INVALID'
    if f is None:
        return '?', 'needs replay features'
    opts = f.get('opts', {})
    standby = set(opts.get('standby', []))
    at = f['at']
    m = member_of(detail)
    logs_at = [msg for t, msg in f['log'] if t == at]
    # The generator's heal does not disarm armed faults: one that fires after the heal leaves a
    # member dropped/deactivated when the checker expects every member healthy.
    if inv in ('I1', 'I4', 'I6') and f['fired_after_heal']:
        return 'T-armed-after-heal', 'an armed OnCall fault fired after the heal'
    def e1(member):
        # Bug 7 (and bug 3's variant): a deactivated member's login answer
        # CKR_TOKEN_NOT_RECOGNIZED taken for a credential failure, which disables its recovery.
        return member and any(t <= at and msg.startswith(f'can not login to member: {member},')
                              and 'CKR_TOKEN_NOT_RECOGNIZED' in msg for t, msg in f['log'])
    culprits = [m] if inv == 'I6' else witnesses(detail) + re.findall(r'member\(s\) ([\d]{13})', detail)
    if inv in ('I6', 'I3', 'I2') and any(e1(x) for x in culprits) and not (
            inv == 'I2' and ('SignInit' in detail or 'TOKEN_NOT_RECOGNIZED' in detail)):
        return '7', 'member out for good after a login answered TOKEN_NOT_RECOGNIZED (deactivation taken for a credential failure)'
    retry0 = [t for t, c in f['cmds'] if c == 'hagroup retry -count 0' and t <= at]
    if inv == 'I6':
        after = [(t, msg) for t, msg in f['log'] if f['heal'] is not None and t >= f['heal'] and m and m in msg]
        # (`hagroup recover`, not `hagroup recoverymode`: before 2026-12-02 this matched both.)
        recovers = [t for t, c in f['cmds'] if re.match(r'hagroup recover(\s|$)', c)]
        loginfail = [t for t, msg in f['log'] if m and msg.startswith(f'can not login to member: {m}')]
        before = [r for r in recovers if r < at]
        if loginfail and (not before or max(loginfail) >= max(before)):
            return 'T-loginfail-after-recover', 'I6: login failure logged after the last hagroup recover (D10 keeps it off)'
        if any('CKR_USER_NOT_LOGGED_IN' in msg for t, msg in after):
            return '15', 'recovery while logged out fails with 0x101 (bug 15 related gap / logged-out decision)'
        state = [v for t, v in f['login'] if f['heal'] is not None and t <= f['heal']]
        if state and not state[-1]:
            return '15', 'no recovery attempt while the application holds no login (logged-out decision)'
        if exhausted(f, m, at):
            # D9: an exhausted member is not expected back before `hagroup recover`. The old
            # checker's exhaustion test (truth.rs `may_be_exhausted`) counts the outage from the
            # member's last fault, so a Restore and a new fault the engine never saw (no attempt
            # runs for an exhausted member) make it expect the member back.
            return 'T-exhausted-expected-back', 'I6: the log says the member exhausted its attempts (no hagroup recover since); the checker expects it back'
        if new_member_revoked(f, m, at):
            # Bug 6 with a revoked member: `detected new member` and the failed attempt's line
            # (`member: S revoked`, B52) at once, and the member is not handled as a dropped
            # member (D24) afterwards.
            return '6', 'new member detected and revoked at once: never attempted again after the revocation ends'
        return '?', 'I6 other'
    if inv == 'I1':
        if 'duplicated' in detail:
            if any(c.startswith('hagroup synchronize') for t, c in f['cmds']
                   if f['heal'] is None or t < f['heal']):
                return '19', 'duplicate after a synchronize during the run'
            return '8', 'duplicate without synchronize (recovery while logged out)'
        logs_out = {'Reopen', 'Relogin', 'Restart'} & set(opts.get('ops', []))
        if 'held although' in detail:
            if any(x.startswith('Deactivate') for t, x in f['faults']) or any('Deactivate' in x for t, x in f['fired']):
                return '2', 'destroyed object back: a deletion missed while deactivated'
            if logs_out:
                return '8', 'destroyed object back: a deletion missed by a member that recovered while logged out'
            if f['v'] < COMPACT_VERSION:
                return '?', STALE
            # The same mechanism without a logout among the operations: the heal itself closes
            # and reopens the application's session and the manual attempt it asks for runs
            # inside `C_OpenSession`, before `C_Login` (B45); or an activeBasic total loss ended
            # the login. A recovery attempt without a login lists only public objects, so the
            # missed deletion of a private key is not applied, and the member's list of missed
            # deletions is cleared anyway (recovery.rs `reconcile` at 70650c0). The final
            # `synchronize` (D8: union, never deletes) then copies the key back to every member.
            label = re.search(r'object (\S+) is held', detail).group(1)
            ev = f['events']
            destroyed = [i for i, (t, kind, text) in enumerate(ev) if kind == 'app' and re.match(
                rf'(Destroy|DestroyPair)\({re.escape(label)}\) -> CKR_OK', text)]
            if destroyed:
                i = destroyed[-1]
                missed = out_of_service(f, i)
                logged = login_walk(f)
                for j in range(i + 1, len(ev)):
                    t, kind, text = ev[j]
                    a = re.search(r'recovery attempt \d+ (succeeded|failed) for member: (\d{13})(.*)$', text) if kind == 'log' else None
                    if a and a.group(2) in missed and not logged[j] and (
                            a.group(1) == 'succeeded' or '0x101' in a.group(3)):
                        return '8', 'destroyed object back: the member that missed the deletion had a recovery attempt while the application held no login (the heal\'s own reopen, a lost session)'
            return '?', 'I1 destroyed object back, no deactivation'
        if any('CKR_USER_NOT_LOGGED_IN' in s for s in f['sync_output']):
            return '18', 'synchronize copies with the application login'
        if not f['sync_output']:
            # synchronize ran and reported equal id sets (D8), so the labels that differ are
            # copies held twice (Needs sync compares ids).
            if any(c.startswith('hagroup synchronize') for t, c in f['cmds'] if f['heal'] is None or t < f['heal']):
                return '19', 'members differ after a clean synchronize: copies held twice (a synchronize during the run)'
            if logs_out:
                return '8', 'members differ after a clean synchronize: copies held twice (recovery while logged out)'
        return '?', 'I1 different objects'
    if inv == 'I2':
        w = witnesses(detail)
        if 'CKR_OBJECT_HANDLE_INVALID' in detail and w and all(x in standby for x in w):
            return '14', 'object only on a standby'
        if 'CKR_OBJECT_HANDLE_INVALID' in detail:
            return '13', 'call on an object the serving member lacks (objects-a-member-lacks decision)'
        if 'CKR_SESSION_HANDLE_INVALID' in detail:
            if any(c.startswith('hagroup recoverymode -mode activeBasic') for t, c in f['cmds'] if t <= at):
                return '12', 'session invalid after a switch to activeBasic'
            return '?', 'I2 SESSION_HANDLE_INVALID without mode switch'
        if 'CKR_DEVICE_ERROR' in detail:
            if any(msg == 'all members gone offline.' for t, msg in f['log'] if t <= at):
                if retry0:
                    return 'T-retry0-usable', 'the checker counts a member usable whose recovery a later retry 0 stopped'
                return '11', 'DEVICE_ERROR after a false total loss'
            if w and all(x in standby for x in w):
                # The active member serving the call failed and no other active member holds
                # the key; the standby members that do are not tried (D26: a call on an object
                # only a standby holds goes to that standby). Bug 14's mechanism, seen as the
                # failed-over call's DEVICE_ERROR rather than OBJECT_HANDLE_INVALID.
                return '14', 'DEVICE_ERROR: the serving member failed and only standby members hold the key'
            if w and all(exhausted(f, x, at) for x in w):
                return 'T-exhausted-expected-back', 'I2 DEVICE_ERROR: the members the checker calls usable exhausted their attempts (no hagroup recover since)'
            if w and all(threads_drop_after_restore(f, x, at) for x in w):
                return 'T-threads-fault-past', 'I2 DEVICE_ERROR: the member the checker calls usable was dropped by a Threads fault scheduled before a Restore the block started after'
            return '?', 'I2 DEVICE_ERROR'
        if 'CKR_USER_NOT_LOGGED_IN' in detail:
            if f['v'] < COMPACT_VERSION:
                return '?', STALE
            # D17 (failover_on_deactivation = 0) lets one call return USER_NOT_LOGGED_IN per
            # deactivation, after which the member is logged deactivated and dropped. Here the
            # one call was a creation that met the deactivation of its primary (at the create
            # or at the clone read) and returned USER_NOT_LOGGED_IN with nothing logged and the
            # member kept (bug 1), so the next call met the deactivated member again.
            label = re.search(r'label: "([^"]+)"', detail)
            ev = f['events']
            failing = [i for i, (t, kind, text) in enumerate(ev) if t == at and kind == 'app' and label
                       and f'({label.group(1)})' in text and 'CKR_USER_NOT_LOGGED_IN' in text]
            if failing:
                i = failing[0]
                deact = [j for j in range(i) if ev[j][1] == 'fault' and ev[j][2].startswith('Deactivate ')]
                j0 = deact[-1] if deact else 0
                for j in range(j0, i):
                    t, kind, text = ev[j]
                    if kind == 'app' and re.match(r'(GenerateKey|GenerateSessionKey|CreateData)\(.*-> CKR_USER_NOT_LOGGED_IN', text):
                        if not any(ev[k][1] == 'log' and ev[k][2].endswith(' deactivated') for k in range(j, i)):
                            return '1', 'a second USER_NOT_LOGGED_IN: a creation met the deactivation and returned it with the member neither logged deactivated nor dropped (bug 1), so the next call met it too'
            return '?', 'I2 USER_NOT_LOGGED_IN on a call'
        return '?', 'I2 other'
    if inv == 'I3':
        if 'all members gone offline' in detail:
            if retry0:
                return 'T-retry0-usable', 'the checker counts a member usable whose recovery a later retry 0 stopped'
            return '11', 'false total loss'
        if 'which the log says is back' in detail:
            if any(msg == f'detected new member member: {m}' for msg in logs_at):
                return '6', 'new member detected and failed at once'
            return '?', 'I3 attempt for a member back'
        if '`succeeded` for member' in detail:
            fired = [x for t, x in f['fired'] if t == at and f' {m} ' in f' {x} ']
            if any(x.startswith('Deactivate') for x in fired):
                return '3', 'succeeded for a member deactivated during its recovery'
            if any(x.startswith('Drop') for x in fired):
                return '5', 'succeeded for a member dropped as copy source'
            cred = [(t, x.split()[0]) for t, x in f['faults'] if t <= at and re.match(rf'(LoginFailure|LoginRestore) {m}$', x)]
            if cred and cred[-1][1] == 'LoginFailure':
                return 'N-succeeded-bad-credential', 'succeeded for a member whose CO credential changed (B43 login step not checked)'
            misplaced = threads_fault_misplaced(f, [m], at)
            if misplaced == 'T-threads-fault-past':
                return misplaced, 'succeeded: a Threads fault scheduled before the block started is applied at its start; the checker puts it at its scheduled instant, before the attempt'
            if misplaced:
                return misplaced, 'succeeded logged while the Threads block opens its sessions (the pending manual attempt), recorded after the block\'s faults that had not applied yet'
            # The attempt's own calls failed (an armed Drop fired on the member since its
            # previous log line) and the engine logs `succeeded` and then `has dropped member`.
            prev = [t for t, msg in f['log'] if t < at and m in msg]
            since = max(prev) if prev else 0
            if any(since <= t <= at and x.startswith(f'Drop {m} fired') for t, x in f['fired']) and any(
                    t == at and msg == f'has dropped member: {m}' for t, msg in f['log']):
                return '5', 'succeeded for a member an armed Drop dropped during that attempt (dropped line follows)'
            return '?', 'I3 succeeded for unreachable'
        mt = re.search(r'at (\d+) ms, due at (\d+) ms', detail)
        if mt:
            diff = int(mt.group(1)) - int(mt.group(2))
            # The member's previous event in the log: its drop, deactivation or last attempt.
            prev = [t for t, msg in f['log'] if t < at and m and (
                msg == f'has dropped member: {m}' or msg == f'member: {m} deactivated'
                or msg.startswith(f'unable to reach member: {m}')
                or re.match(rf'recovery attempt \d+ failed for member: {m}\.', msg))]
            since = max(prev) if prev else 0
            changed = [t for t, c in f['cmds'] if c.startswith('hagroup interval ') and since <= t <= at]
            if changed:
                return '16', 'attempt not one (new) interval after the previous'
            if -RECEIVE_TIMEOUT_MS * 3 <= diff < 0:
                # The engine stamps a drop at the start of the call that found it (its log line's
                # clock shows that instant); the transcript records the line when the call ends,
                # up to a receive timeout later per hung call (B28). The checker's slack is one
                # receive timeout, so an attempt due from the stamp looks early.
                return 'T-drop-stamp-slack', 'attempt early by up to three receive timeouts (drop stamped at the call start)'
            this_line = [msg for t, msg in f['log'] if t == at and re.match(rf'recovery attempt \d+ (failed|succeeded) for member: {m}', msg)]
            if diff > 0 and any('CKR_USER_NOT_LOGGED_IN' in x for x in this_line):
                return '15', 'late attempt failing 0x101: recovery waits for a login (logged-out decision)'
            enabled = [t for t, c in f['cmds'] if c.startswith('hagroup retry -count') and since <= t <= at]
            if diff > 0 and enabled:
                return 'N-retry-enabled-late', 'attempt 1 one interval after auto-recovery was enabled, not after the drop'
            if threads_fault_misplaced(f, [m], at) == 'T-threads-fault-past':
                return 'T-threads-fault-past', 'attempt timing: a Threads fault scheduled before the block started is put at its scheduled instant (a new outage the engine did not see then)'
            # By the log lines' own clocks (the engine's stamps) the attempt is on time: the
            # previous line, or this one, was recorded in the transcript later than it was
            # written (the runner drains the HA log at its next observation point).
            q = re.search(r'(recovery attempt \d+ .*)$', detail)
            stamped = f['stamped']
            mine = [i for i, (t, st, msg) in enumerate(stamped) if t == at and q and msg == q.group(1)]
            if mine:
                i = mine[0]
                before = [x for x in stamped[:i] if (
                    x[2] == f'has dropped member: {m}' or x[2] == f'member: {m} deactivated'
                    or x[2] == f'member: {m} revoked' or x[2].startswith(f'unable to reach member: {m}')
                    or x[2] == f'recovery attempt {m} is not activated and cannot be reintroduced back into the HA group'
                    or re.match(rf'recovery attempt \d+ failed for member: {m}\.', x[2]))]
                if before:
                    due_stamped = int(mt.group(2)) - (before[-1][0] - before[-1][1])
                    lag = (stamped[i][0] - stamped[i][1], before[-1][0] - before[-1][1])
                    if max(lag) > 1000 and abs(stamped[i][1] - due_stamped) <= RECEIVE_TIMEOUT_MS:
                        return 'T-log-recorded-late', 'attempt on time by the log lines\' own clocks; the transcript recorded a line later than its stamp'
            if diff > 0 and slow_in_force(f, since, at):
                # B44: an attempt runs once *at least* the interval has elapsed. The simulated
                # recovery thread is busy with the member calls of an earlier run (a slow
                # member, B28: e.g. reintroducing objects copied from it) and runs what fell due
                # when it is free again (sim `advance_to`). Evidence: a Slow fault in force
                # between the member's previous attempt and this one.
                return 'T-recovery-thread-busy', 'late attempt while a slow member keeps the recovery thread busy (B44: at least the interval)'
            return '?', 'I3 attempt timing'
        if 'was reachable and no call to it failed' in detail:
            # At 70650c0 the checker never records a member's failed call (the MemberFailure
            # event is never filled), so every drop line of a member the faults call healthy is
            # flagged. An outage already over when the engine notices it (D19) is not a bug.
            back = [t for t, msg in f['log'] if t < at and (
                msg.startswith('recovery attempt ') and msg.endswith(f'succeeded for member: {m}')
                or msg == f'detected new member member: {m}')]
            since = max(back) if back else 0
            hits = [t for t, x in f['faults'] + f['fired'] if since <= t <= at and f' {m}' in f' {x}'
                    and re.match(r'(Drop|Revoke|Slow) ', x)]
            logs_at = [msg for t, msg in f['log'] if t == at]
            k = logs_at.index(f'has dropped member: {m}') if f'has dropped member: {m}' in logs_at else 0
            later = logs_at[k + 1:]
            if 'all members gone offline.' in later and any(re.match(r'recovery attempt \d+ succeeded for member: ', x) for x in later):
                return '11', 'all members gone offline while a member is being brought back (its copy source lost)'
            if hits:
                return 'T-stale-drop', 'drop line for an outage already undone (noticed late, D19); the old checker never records the failed call'
            logs_at = [msg for t, msg in f['log'] if t == at]
            state = [v for t, v in f['login'] if t <= at]
            recovering = any(re.match(r'recovery attempt .*(succeeded|reintroducing|now activated)', x) for x in logs_at)
            react = [t for t, x in f['faults'] + f['fired'] if since <= t <= at and re.match(rf'(Deactivate|Activate) {m}', x)]
            if react:
                return '4', 'a member deactivated and reactivated before the engine talked to it is dropped (lost login), not logged in again'
            if recovering and not (state and state[-1]):
                return '15', 'copy source read without a login during a recovery while logged out: a reachable source dropped'
            if recovering:
                return '5', 'a reachable copy source dropped while filling another member\'s gap'
            return '?', 'I3 reachable member dropped'
        mn = re.search(r'attempt (\d+) for member (\d{13}) where attempt (\d+) was due', detail)
        if mn:
            # B51/D10: a recovery attempt that finds the member not activated logs the no-ID
            # line `recovery attempt S is not activated ...`, one that finds it revoked logs
            # `member: S revoked`; both count as failed attempts in the engine, but the old
            # checker counts only numbered `recovery attempt N failed/succeeded` lines.
            last_numbered = [t for t, msg in f['log'] if t < at and re.match(
                rf'recovery attempt \d+ (failed|succeeded) for member: {m}\b', msg)]
            since = max(last_numbered) if last_numbered else -1
            unnumbered = [t for t, msg in f['log'] if since <= t <= at and (
                msg == f'recovery attempt {m} is not activated and cannot be reintroduced back into the HA group'
                or msg == f'member: {m} revoked')]
            if unnumbered:
                return 'T-unnumbered-attempt', 'attempt numbering: the not-activated or revoked line of an attempt is not counted by the checker'
            return '?', 'I3 attempt numbering'
        if 'dropped twice without coming back' in detail:
            drop_line = f'has dropped member: {m}'
            k = logs_at.index(drop_line) if drop_line in logs_at else -1
            later = logs_at[k + 1:] if k >= 0 else []
            if any(re.match(rf'recovery attempt \d+ succeeded for member: {m}$', x) for x in later):
                # The order bug 5 names: `has dropped member: B` then `recovery attempt N
                # succeeded for member: B` at one instant; the checker sees the drop first, while
                # B was still down.
                if any(t == at and x.startswith(f'Deactivate {m} fired') for t, x in f['fired']):
                    return '3', 'dropped then succeeded at one instant: a member deactivated during its recovery'
                return '5', 'dropped then succeeded at one instant for the same member (bug 5\'s order)'
            if new_member_revoked(f, m, at):
                # Bug 6 with a revoked member (see the I6 rule): it serves again with no
                # `succeeded` line and is then dropped a second time.
                return '6', 'new member detected and revoked at once: back in service without a succeeded line, dropped again'
            return '?', 'I3 dropped twice'
        return '?', 'I3 other'
    if inv == 'I5':
        holder = re.search(r'active member (\d{13}) held', detail)
        past = [(t, x) for t, x in f['faults'] if holder and x.startswith(f'Drop {holder.group(1)} scheduled at ')
                and t <= at and float(x.split()[4]) * 1000 < t]
        if past:
            return 'T-threads-fault-past', 'a Threads fault scheduled before the block starts is applied at its start, after later steps; the checker orders it at its scheduled instant'
        if holder and exhausted(f, holder.group(1), at):
            return 'T-exhausted-expected-back', 'I5: the holder exhausted its attempts (no hagroup recover since); the checker counts it usable'
        if holder and retry0:
            return 'T-retry0-usable', 'I5: the checker counts the holder usable from an attempt that a later retry 0 cancelled'
        if holder and any(t == at and (re.match(rf'recovery attempt \d+ succeeded for member: {holder.group(1)}$', msg)
                                       or msg == f'detected new member member: {holder.group(1)}') for t, msg in f['log']):
            return 'T-same-instant-recovery', 'I5: the holder rejoined at the call\'s instant, after the call; the checker counts it usable from that instant'
    return '?', f'{inv} other'


# ---- main ---------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('files', nargs='+')
    ap.add_argument('--no-replay', action='store_true',
                    help='replay nothing: seeds without cached features stay "? needs replay features"')
    ap.add_argument('--cache', default='/work/campaign/features.jsonl')
    ap.add_argument('--out', default=None)
    ap.add_argument('--jobs', type=int, default=2)
    args = ap.parse_args()
    cache = {}
    if os.path.exists(args.cache):
        for line in open(args.cache):
            d = json.loads(line)
            cache[d['seed']] = d
    cache_out = open(args.cache, 'a')
    rows = []
    seeds = 0
    for path in args.files:
        for line in open(path):
            d = json.loads(line)
            if 'campaign' in d:
                continue
            seeds += 1
            if d['verdict'] != 'fail':
                continue
            rows.append(d)
    # Replay the seeds that need features (in parallel, `--jobs`), appending to the cache.
    if not args.no_replay:
        todo = []
        for d in rows:
            cls, rule = classify(d['invariant'], d.get('detail', ''), '', None)
            if rule == 'needs replay features' and d['seed'] not in cache:
                todo.append(d['seed'])
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            for c in pool.map(replay, todo):
                cache[c['seed']] = c
                cache_out.write(json.dumps(c) + '\n')
                cache_out.flush()
    by_inv = collections.Counter()
    by_class = collections.Counter()
    by_rule = collections.Counter()
    first = {}
    out = open(args.out, 'w') if args.out else None
    for d in rows:
        inv, detail, seed = d['invariant'], d.get('detail', ''), d['seed']
        key = normalise(inv, detail)
        cls, rule = classify(inv, detail, key, None)
        if cls == '?' and rule == 'needs replay features':
            c = cache.get(seed)
            if c is None and not args.no_replay:
                c = replay(seed)
                cache[seed] = c
                cache_out.write(json.dumps(c) + '\n')
                cache_out.flush()
            if c is not None:
                f = features(seed, '\n'.join(c['lines']), detail, c.get('v', 1))
                cls, rule = classify(inv, detail, key, f)
                if rule == STALE and not args.no_replay:
                    c = replay(seed)
                    cache[seed] = c
                    cache_out.write(json.dumps(c) + '\n')
                    cache_out.flush()
                    f = features(seed, '\n'.join(c['lines']), detail, c.get('v', 1))
                    cls, rule = classify(inv, detail, key, f)
        by_inv[inv] += 1
        by_class[cls] += 1
        by_rule[(cls, rule)] += 1
        if cls not in first or seed < first[cls]:
            first[cls] = seed
        if out:
            out.write(f'{seed}\t{inv}\t{cls}\t{rule}\t{key}\n')
    fails = len(rows)
    print(f'seeds {seeds}, failed {fails}, passed {seeds - fails}')
    print('\nper invariant:')
    for k, v in sorted(by_inv.items()):
        print(f'  {k}\t{v}')
    print('\nper class (first seed):')
    def order(c):
        return (0, int(c), '') if c.isdigit() else (1, 0, c)
    for k in sorted(by_class, key=order):
        print(f'  {k}\t{by_class[k]}\tfirst seed {first[k]}\thasim replay --seed {first[k]}')
    print('\nper class and rule:')
    for (c, r), v in sorted(by_rule.items(), key=lambda kv: (order(kv[0][0]), -kv[1])):
        print(f'  {c}\t{v}\t{r}')


if __name__ == '__main__':
    main()
