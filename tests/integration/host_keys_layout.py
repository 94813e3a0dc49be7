# SPDX-License-Identifier: MIT
"""The layout of a second under [Redis] HostKeys=yes (issue 17), as src/fleet/fleet-query.c's
fleet_record_split() writes it, computed in Python from the record's JSON: a hash with field '*' the whole record,
'/groups' the number of per-group fields (or '*' when the record has more than GROUPS_MAX top-level groups and
is not split), and per top-level group (a name under a controller's "sub_cgroup") the record cut to that group:
{controller: node, ...}. For the tests and the bench that write records themselves, and for checking the
daemon's."""
import json

WHOLE = '*'
GROUPS = '/groups'
GROUPS_MAX = 64


def name_ok(name):
    return (name not in ('', '.', '..', WHOLE) and '/' not in name and len(name.encode()) <= 4096 and
            not any(ord(c) < 0x20 or ord(c) == 0x7f for c in name))


def cut(record, name):
    """The record (parsed) cut to one top-level group: {controller: node} or None when no controller has it."""
    out = {k: v['sub_cgroup'][name] for k, v in record.items()
           if isinstance(v, dict) and len(k) <= 32 and isinstance(v.get('sub_cgroup'), dict) and
           name in v['sub_cgroup']}
    return out or None


def split(text):
    """{field: value} of the hash for one record's text (str)."""
    record = json.loads(text)
    names = []
    for k, v in record.items():
        if isinstance(v, dict) and len(k) <= 32 and isinstance(v.get('sub_cgroup'), dict):
            names += [n for n in v['sub_cgroup'] if name_ok(n) and n not in names]
    if len(names) > GROUPS_MAX:
        return {WHOLE: text, GROUPS: WHOLE}
    fields = {WHOLE: text, GROUPS: str(len(names))}
    for n in names:
        fields[n] = json.dumps(cut(record, n), separators=(',', ':'), ensure_ascii=False)
    return fields


def write(r, key, text, ex=None, pipe=None):
    """HSET key with the fields of text (and EXPIRE), on a redis-py client or pipeline."""
    p = pipe if pipe is not None else r
    p.hset(key, mapping=split(text))
    if ex:
        p.expire(key, ex)
