#!/usr/bin/env python3
"""Backups for tests/dump.rs, made with pymongo's bson and Python's tarfile, and what they
must give, computed here with pymongo (the oracle).

  gen.py tree DIR SEED N [gzip]
      DIR/dump/auth0/users.bson (N users, _id ints, every common BSON type, nested fields,
      arrays, dates, decimals), users.metadata.json, clients.bson (ObjectId _ids), an empty
      collection, a collection whose name mongodump escapes (a%2Fb), admin/system.version;
      `gzip`: mongodump --gzip's .bson.gz and .metadata.json.gz. Packed as DIR/backup.tar.gz.
      Prints nothing; writes DIR/users.canonical.jsonl and DIR/users.relaxed.jsonl:
      bson.decode_file_iter + json_util.dumps of users.bson, one document a line.

  gen.py pair DIR SEED N
      DIR/old.tar.gz and DIR/new.tar.gz: the same tree, then documents added, removed and
      changed, indexes and options added, removed and changed, a collection dropped and one
      created; prints the expected diff as JSON: {collection: {presence, added: [ids],
      removed: [ids], changed: [ids], unchanged: n, indexes_*: [...], options_*: [...]}}
      with each _id as canonical Extended JSON text.

  gen.py big DIR N
      DIR/big.tar.gz: auth0.users with N small documents (fast to make), and DIR/big2.tar.gz
      with every 100th changed, every 1000th removed and N/100 added.
"""
import datetime
import gzip
import io
import json
import os
import random
import sys
import tarfile
import uuid

import bson
from bson import json_util
from bson.binary import Binary
from bson.codec_options import CodecOptions, DatetimeConversion
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.json_util import CANONICAL_JSON_OPTIONS, RELAXED_JSON_OPTIONS
from bson.objectid import ObjectId
from bson.regex import Regex
from bson.son import SON
from bson.timestamp import Timestamp

DECODE = CodecOptions(datetime_conversion=DatetimeConversion.DATETIME_AUTO, document_class=SON)
CANONICAL = CANONICAL_JSON_OPTIONS.with_options(datetime_conversion=DatetimeConversion.DATETIME_AUTO)
RELAXED = RELAXED_JSON_OPTIONS.with_options(datetime_conversion=DatetimeConversion.DATETIME_AUTO)


def user(rng, i):
    created = datetime.datetime(2015, 1, 1) + datetime.timedelta(seconds=rng.randrange(10**9))
    d = SON()
    d["_id"] = i
    d["email"] = f"user{i}@{rng.choice(['example.com', 'example.org', 'corp.io'])}"
    d["email_verified"] = rng.random() < 0.5
    d["logins_count"] = rng.choice([rng.randrange(1000), Int64(rng.randrange(2**40)), float(rng.randrange(100)) + 0.5])
    d["created_at"] = created
    d["tenant"] = rng.choice(["prod", "dev", None])
    d["identities"] = [SON([("provider", rng.choice(["auth0", "google-oauth2", "github"])),
                            ("user_id", str(rng.randrange(10**9))), ("isSocial", rng.random() < 0.3)])
                       for _ in range(rng.randrange(3))]
    d["app_metadata"] = SON([("plan", rng.choice(["free", "pro"])), ("roles", rng.sample(["a", "b", "c", "d"], rng.randrange(4))),
                             ("balance", Decimal128(f"{rng.randrange(10**6)}.{rng.randrange(100):02d}"))])
    if rng.random() < 0.3:
        d["blocked_for"] = [ObjectId(bytes(rng.randrange(256) for _ in range(12)))]
    if rng.random() < 0.2:
        d["picture"] = Binary(bytes(rng.randrange(256) for _ in range(rng.randrange(40))), rng.choice([0, 4, 128]))
    if rng.random() < 0.1:
        d["pattern"] = Regex("^a.*" + str(i), "im")
    if rng.random() < 0.1:
        d["ts"] = Timestamp(rng.randrange(2**31), rng.randrange(100))
    if rng.random() < 0.05:
        d["nan"] = float("nan") if rng.random() < 0.5 else -0.0
    if rng.random() < 0.1:
        d["note"] = "ünïcødé \u2028 \"quoted\" \\ \x01 tab\t"
    return d


def metadata(name, indexes, options=None):
    m = SON()
    m["indexes"] = [SON([("v", 2), ("key", SON(k)), ("name", n)]) for n, k in indexes]
    m["uuid"] = uuid.uuid5(uuid.NAMESPACE_DNS, name).hex
    m["collectionName"] = name
    m["type"] = "collection"
    m["options"] = SON(options or {})
    return json_util.dumps(m, json_options=CANONICAL)


USER_INDEXES = [("_id_", [("_id", 1)]), ("email_1", [("email", 1)]), ("tenant_1_created_at_-1", [("tenant", 1), ("created_at", -1)])]


def tree(rng, n):
    """{ "db/coll": (documents, metadata text) } of a backup."""
    users = [user(rng, i) for i in range(n)]
    clients = [SON([("_id", ObjectId(bytes(rng.randrange(256) for _ in range(12)))), ("name", f"app{i}"),
                    ("callbacks", [f"https://app{i}.example.com/cb"]), ("global", False)]) for i in range(max(3, n // 10))]
    return {
        "auth0/users": (users, metadata("users", USER_INDEXES)),
        "auth0/clients": (clients, metadata("clients", [("_id_", [("_id", 1)]), ("name_1", [("name", 1)])])),
        "auth0/empty": ([], metadata("empty", [("_id_", [("_id", 1)])], {"capped": True, "size": 4096})),
        "auth0/a%2Fb": ([SON([("_id", "x"), ("v", 1)])], metadata("a/b", [("_id_", [("_id", 1)])])),
        "admin/system.version": ([SON([("_id", "featureCompatibilityVersion"), ("version", "4.4")])], metadata("system.version", [("_id_", [("_id", 1)])])),
    }


def encode_all(docs):
    return b"".join(bson.encode(d) for d in docs)


def pack(t, path, gz=False):
    """The tree as mongodump writes it under dump/, as a .tar.gz at `path`."""
    with tarfile.open(path, "w:gz", format=tarfile.GNU_FORMAT) as tar:
        dirs = sorted({k.split("/")[0] for k in t})
        for d in ["dump"] + [f"dump/{x}" for x in dirs]:
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tar.addfile(info)
        for key in sorted(t):
            docs, meta = t[key]
            files = [(f"{key}.bson", encode_all(docs)), (f"{key}.metadata.json", meta.encode())]
            for name, data in files:
                if gz:
                    name, data = name + ".gz", gzip.compress(data)
                info = tarfile.TarInfo(f"dump/{name}")
                info.size = len(data)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))


def cmd_tree(out, seed, n, gz):
    rng = random.Random(seed)
    t = tree(rng, n)
    pack(t, os.path.join(out, "backup.tar.gz"), gz)
    raw = encode_all(t["auth0/users"][0])
    for mode, options in [("canonical", CANONICAL), ("relaxed", RELAXED)]:
        with open(os.path.join(out, f"users.{mode}.jsonl"), "w") as f:
            for doc in bson.decode_file_iter(io.BytesIO(raw), DECODE):
                f.write(json_util.dumps(doc, json_options=options) + "\n")
    with open(os.path.join(out, "users.bson"), "wb") as f:
        f.write(raw)


def id_text(v):
    return json.dumps(json.loads(json_util.dumps({"_id": v}, json_options=CANONICAL))["_id"], separators=(",", ":"))


def cmd_pair(out, seed, n):
    rng = random.Random(seed)
    old = tree(rng, n)
    # _ids longer than 15 bytes (keyed by hash, not by their bytes).
    old["auth0/devices"] = ([SON([("_id", f"device-{i:020d}"), ("os", "linux")]) for i in range(50)],
                            metadata("devices", [("_id_", [("_id", 1)])]))
    new = {k: ([SON(d) for d in docs], meta) for k, docs_meta in old.items() for docs, meta in [docs_meta]}
    users, _ = new["auth0/users"]
    removed = rng.sample(range(n), n // 10)
    changed = [i for i in rng.sample(range(n), n // 5) if i not in removed]
    for i in changed:
        d = users[i]
        if i % 3 == 0:
            d["email_verified"] = not d["email_verified"]
        elif i % 3 == 1:
            d["last_login"] = datetime.datetime(2024, 5, 1)
        else:  # the same fields in another order: other bytes
            items = list(d.items())
            d.clear()
            for k, v in [items[0]] + list(reversed(items[1:])):
                d[k] = v
    keep = [d for i, d in enumerate(users) if i not in removed]
    added = [user(rng, n + i) for i in range(n // 8)]
    keep[len(keep) // 2:len(keep) // 2] = added
    new["auth0/users"] = (keep, metadata("users", [USER_INDEXES[0], ("email_1", [("email", -1)]), ("identities.user_id_1", [("identities.user_id", 1)])], {"validator": {"email": {"$exists": True}}}))
    new["auth0/empty"] = ([], metadata("empty", [("_id_", [("_id", 1)])], {"capped": True, "size": 8192, "max": 10}))
    del new["auth0/a%2Fb"]
    devices = [SON(d) for d in old["auth0/devices"][0][5:]]
    devices[0]["os"] = "windows"
    devices.append(SON([("_id", "device-new-and-long-enough"), ("os", "mac")]))
    new["auth0/devices"] = (devices, old["auth0/devices"][1])
    new["auth0/logs"] = ([SON([("_id", ObjectId(bytes([i] * 12))), ("type", "s")]) for i in range(5)], metadata("logs", [("_id_", [("_id", 1)])]))
    pack(old, os.path.join(out, "old.tar.gz"))
    pack(new, os.path.join(out, "new.tar.gz"))
    report = {}
    for key in sorted(set(old) | set(new)):
        db, coll = key.split("/")
        name = f"{db}.{coll.replace('%2F', '/')}"
        o = {bson.encode({"_id": d["_id"]}): bson.encode(d) for d in (old[key][0] if key in old else [])}
        nw = {bson.encode({"_id": d["_id"]}): bson.encode(d) for d in (new[key][0] if key in new else [])}
        ids = lambda keys: sorted(id_text(bson.decode(k)["_id"]) for k in keys)
        def meta(t):
            if key not in t:
                return [], []
            m = json.loads(t[key][1], object_pairs_hook=lambda p: p)
            m = dict(m)
            idx = [(dict(i)["name"], json.dumps(i)) for i in m["indexes"]]
            opts = [(k, json.dumps(v)) for k, v in m["options"]]
            return idx, opts
        (oi, oo), (ni, no) = meta(old), meta(new)
        def cmp(a, b):
            da, db_ = dict(a), dict(b)
            return (sorted(k for k in db_ if k not in da), sorted(k for k in da if k not in db_),
                    sorted(k for k in db_ if k in da and da[k] != db_[k]))
        ia, ir, ic = cmp(oi, ni)
        oa, orr, oc = cmp(oo, no)
        report[name] = {
            "presence": "both" if key in old and key in new else ("old_only" if key in old else "new_only"),
            "added": ids(k for k in nw if k not in o),
            "removed": ids(k for k in o if k not in nw),
            "changed": ids(k for k in o if k in nw and o[k] != nw[k]),
            "unchanged": sum(1 for k in o if k in nw and o[k] == nw[k]),
            "indexes_added": ia, "indexes_removed": ir, "indexes_changed": ic,
            "options_added": oa, "options_removed": orr, "options_changed": oc,
        }
    print(json.dumps(report))


def cmd_big(out, n):
    def docs(changed):
        step = 0
        for i in range(n):
            if changed and i % 1000 == 999:
                continue
            d = {"_id": ObjectId(i.to_bytes(12, "big")), "email": f"user{i}@example.com", "logins": i % 97,
                 "plan": "pro" if (i % 100 == 0 and changed) else "free"}
            yield bson.encode(d)
        if changed:
            for i in range(n, n + n // 100):
                yield bson.encode({"_id": ObjectId(i.to_bytes(12, "big")), "email": f"user{i}@example.com", "logins": 0, "plan": "free"})
    for name, changed in [("big.tar.gz", False), ("big2.tar.gz", True)]:
        data = b"".join(docs(changed))
        meta = metadata("users", USER_INDEXES).encode()
        with tarfile.open(os.path.join(out, name), "w:gz", compresslevel=1) as tar:
            for fname, payload in [("dump/auth0/users.bson", data), ("dump/auth0/users.metadata.json", meta)]:
                info = tarfile.TarInfo(fname)
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))


if __name__ == "__main__":
    cmd, out = sys.argv[1], sys.argv[2]
    if cmd == "tree":
        cmd_tree(out, int(sys.argv[3]), int(sys.argv[4]), len(sys.argv) > 5 and sys.argv[5] == "gzip")
    elif cmd == "pair":
        cmd_pair(out, int(sys.argv[3]), int(sys.argv[4]))
    elif cmd == "big":
        cmd_big(out, int(sys.argv[3]))
    else:
        sys.exit(f"unknown command {cmd}")
