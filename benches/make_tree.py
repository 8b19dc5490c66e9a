#!/usr/bin/env python3
"""Make a mongodump-shaped tree of real BSON, the kind of tree an appliance backup holds.

    python3 benches/make_tree.py OUTDIR [--mb 1000] [--seed 1]

writes OUTDIR/dump/<db>/<collection>.bson and <collection>.metadata.json: a few large
collections (users, logs, sessions, grants) and many small ones (clients, connections, rules,
tenant settings, ...) over several databases, about MB megabytes in all (10^6 bytes). The
documents look like Auth0's: ObjectIds, dates, bcrypt hashes, e-mail addresses, user agents,
nested metadata, so the tree compresses about as a real backup does (to about 0.26 of its size with gzip -6).

The `bson` module of pymongo (`pip install pymongo`) encodes the documents when it is present;
otherwise a small pure-Python encoder below does (same bytes for these documents, slower).
The output is the same for the same --mb and --seed.
"""

import argparse
import datetime
import json
import os
import random
import struct
import sys

try:  # pymongo's bson (not the unrelated `bson` package on PyPI, which has no `encode`)
    import bson as _pymongo_bson

    _pymongo_bson.encode  # noqa: B018
    _pymongo_bson.ObjectId  # noqa: B018
except (ImportError, AttributeError):
    _pymongo_bson = None


# --- A pure-Python BSON encoder for the types used here -------------------------------------


class ObjectId:
    """A 12-byte ObjectId: 4 bytes of big-endian seconds, then 8 random bytes."""

    __slots__ = ("binary",)

    def __init__(self, binary):
        assert len(binary) == 12
        self.binary = binary


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def _cstring(s):
    b = s.encode("utf-8")
    assert b"\x00" not in b
    return b + b"\x00"


def _element(key, value):
    k = _cstring(key)
    if isinstance(value, bool):
        return b"\x08" + k + (b"\x01" if value else b"\x00")
    if isinstance(value, int):
        if -(2**31) <= value < 2**31:
            return b"\x10" + k + struct.pack("<i", value)
        return b"\x12" + k + struct.pack("<q", value)
    if isinstance(value, float):
        return b"\x01" + k + struct.pack("<d", value)
    if isinstance(value, str):
        b = value.encode("utf-8")
        return b"\x02" + k + struct.pack("<i", len(b) + 1) + b + b"\x00"
    if isinstance(value, dict):
        return b"\x03" + k + encode_pure(value)
    if isinstance(value, list):
        return b"\x04" + k + encode_pure({str(i): v for i, v in enumerate(value)})
    if isinstance(value, (bytes, bytearray)):
        return b"\x05" + k + struct.pack("<i", len(value)) + b"\x00" + bytes(value)
    if isinstance(value, ObjectId):
        return b"\x07" + k + value.binary
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        delta = value - _EPOCH
        millis = (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000
        return b"\x09" + k + struct.pack("<q", millis)
    if value is None:
        return b"\x0a" + k
    raise TypeError(f"no BSON encoding here for {type(value).__name__}")


def encode_pure(doc):
    body = b"".join(_element(k, v) for k, v in doc.items())
    return struct.pack("<i", len(body) + 5) + body + b"\x00"


if _pymongo_bson is not None:
    ENCODER = "pymongo bson"

    def make_oid(binary):
        return _pymongo_bson.ObjectId(binary)

    encode = _pymongo_bson.encode
else:
    ENCODER = "pure-python bson"
    make_oid = ObjectId
    encode = encode_pure


# --- Documents ----------------------------------------------------------------------------

FIRST = (
    "alice bob carol dave erin frank grace heidi ivan judy mallory niaj olivia peggy rupert "
    "sybil trent victor walter yolanda maria jose wei fatima olga kenji amara lucas sofia".split()
)
LAST = (
    "smith garcia chen nguyen kowalski muller rossi silva tanaka okafor novak dubois jensen "
    "ivanova haddad kim patel lopez martin walker".split()
)
DOMAINS = ["example.com", "example.org", "corp.example.net", "mail.example.io", "example.co.uk"]
CONNECTIONS = [
    "Username-Password-Authentication",
    "google-oauth2",
    "github",
    "samlp-corp",
    "ad-ldap",
    "email",
]
LOG_TYPES = ["s", "f", "fp", "fu", "slo", "sapi", "seccft", "ss", "w", "du", "scp"]
AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "node-superagent/3.8.3",
    "curl/8.5.0",
    "okhttp/4.12.0",
]
SCOPES = ["openid", "profile", "email", "offline_access", "read:reports", "write:reports", "admin"]
ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
BCRYPT = ALNUM + "./"

T0 = datetime.datetime(2021, 1, 1)


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)

    def oid(self, when):
        secs = int((when - T0).total_seconds()) + 1609459200
        return make_oid(struct.pack(">I", secs) + self.r.getrandbits(64).to_bytes(8, "big"))

    def hex(self, n):
        return "%0*x" % (n, self.r.getrandbits(4 * n))

    def word(self, alphabet, n):
        return "".join(self.r.choices(alphabet, k=n))

    def when(self, span_days=1500):
        return T0 + datetime.timedelta(seconds=self.r.randrange(span_days * 86400))

    def ip(self):
        r = self.r
        return f"{r.choice((10, 172, 192, 81, 203))}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(256)}"

    def client_id(self):
        return self.word(ALNUM, 32)

    # Large collections ---------------------------------------------------------------

    def user(self, tenant, i):
        r = self.r
        first, last = r.choice(FIRST), r.choice(LAST)
        created = self.when()
        conn = r.choice(CONNECTIONS)
        doc = {
            "_id": self.oid(created),
            "tenant": tenant,
            "connection": conn,
            "user_id": f"auth0|{self.hex(24)}",
            "email": f"{first}.{last}{i}@{r.choice(DOMAINS)}",
            "email_verified": r.random() < 0.85,
            "name": f"{first.title()} {last.title()}",
            "given_name": first.title(),
            "family_name": last.title(),
            "nickname": f"{first}{i % 1000}",
            "picture": f"https://s.gravatar.com/avatar/{self.hex(32)}?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2F{first[:2]}.png",
            "created_at": created,
            "updated_at": created + datetime.timedelta(seconds=r.randrange(10**7)),
            "last_login": created + datetime.timedelta(seconds=r.randrange(10**7)),
            "last_ip": self.ip(),
            "logins_count": r.randrange(5000),
            "blocked": r.random() < 0.01,
            "app_metadata": {
                "plan": r.choice(["free", "pro", "enterprise"]),
                "roles": r.sample(["admin", "editor", "viewer", "billing", "support"], r.randrange(1, 3)),
                "customer_id": f"cus_{self.word(ALNUM, 14)}",
            },
            "user_metadata": {"locale": r.choice(["en", "es", "fr", "de", "ja", "pt-BR"]), "newsletter": r.random() < 0.3},
        }
        if conn in ("Username-Password-Authentication", "ad-ldap"):
            doc["password"] = "$2b$10$" + self.word(BCRYPT, 53)
            doc["password_set_date"] = created
        else:
            doc["identities"] = [
                {"provider": conn, "user_id": str(r.getrandbits(64)), "connection": conn, "isSocial": conn != "samlp-corp"}
            ]
        return doc

    def log(self, tenant, i, clients):
        r = self.r
        when = T0 + datetime.timedelta(seconds=i * 3 + r.randrange(3))
        typ = r.choice(LOG_TYPES)
        cid, cname = r.choice(clients)
        doc = {
            "_id": self.oid(when),
            "tenant": tenant,
            "log_id": f"900{when.strftime('%Y%m%d%H%M%S')}{self.hex(10)}",
            "date": when,
            "type": typ,
            "client_id": cid,
            "client_name": cname,
            "connection": r.choice(CONNECTIONS),
            "ip": self.ip(),
            "user_agent": r.choice(AGENTS),
            "user_id": f"auth0|{self.hex(24)}",
            "user_name": f"{r.choice(FIRST)}@{r.choice(DOMAINS)}",
            "hostname": f"{tenant}.auth.example.com",
            "strategy": "auth0",
            "strategy_type": "database",
            "isMobile": r.random() < 0.2,
        }
        if typ in ("f", "fp", "fu"):
            doc["description"] = r.choice(["Wrong email or password.", "Invalid username or password", "Blocked user"])
        if typ == "s":
            doc["details"] = {"prompts": [{"name": "login", "elapsedTime": r.randrange(20, 900)}], "session_id": self.word(ALNUM, 32)}
        return doc

    def session(self, tenant):
        r = self.r
        created = self.when()
        return {
            "_id": self.oid(created),
            "tenant": tenant,
            "sid": self.word(ALNUM + "-_", 32),
            "user_id": f"auth0|{self.hex(24)}",
            "created_at": created,
            "expires": created + datetime.timedelta(days=7),
            "device": {"ip": self.ip(), "user_agent": r.choice(AGENTS)},
            "clients": [self.client_id() for _ in range(r.randrange(1, 4))],
            "authenticated_at": created,
            "amr": r.sample(["pwd", "mfa", "otp"], r.randrange(1, 3)),
        }

    def grant(self, tenant, clients):
        r = self.r
        created = self.when()
        return {
            "_id": self.oid(created),
            "tenant": tenant,
            "user_id": f"auth0|{self.hex(24)}",
            "clientID": r.choice(clients)[0],
            "audience": f"https://{tenant}.api.example.com/",
            "scope": r.sample(SCOPES, r.randrange(1, len(SCOPES))),
            "created_at": created,
        }

    # Small collections ---------------------------------------------------------------

    def client(self, tenant, i):
        r = self.r
        name = f"{r.choice(['Portal', 'Mobile', 'Dashboard', 'Reports', 'Billing', 'Support'])} {i}"
        cid = self.client_id()
        return {
            "_id": self.oid(self.when()),
            "tenant": tenant,
            "client_id": cid,
            "name": name,
            "client_secret": self.word(ALNUM + "-_", 64),
            "app_type": r.choice(["spa", "native", "regular_web", "non_interactive"]),
            "callbacks": [f"https://app{i}.{r.choice(DOMAINS)}/callback", f"http://localhost:{3000 + i}/callback"],
            "allowed_origins": [f"https://app{i}.{r.choice(DOMAINS)}"],
            "grant_types": ["authorization_code", "refresh_token"],
            "jwt_configuration": {"alg": "RS256", "lifetime_in_seconds": 36000},
            "is_first_party": True,
        }

    def small(self, tenant, kind, i):
        r = self.r
        base = {"_id": self.oid(self.when()), "tenant": tenant, "name": f"{kind}-{i}"}
        if kind == "connections":
            base.update(strategy=r.choice(CONNECTIONS), options={"brute_force_protection": True, "mfa": {"active": r.random() < 0.5}}, enabled_clients=[self.client_id() for _ in range(3)])
        elif kind == "rules":
            base.update(script="function (user, context, callback) {\n  // " + self.word(ALNUM + " ", 200) + "\n  callback(null, user, context);\n}", order=i, enabled=r.random() < 0.8)
        elif kind == "resource_servers":
            base.update(identifier=f"https://{tenant}.api.example.com/{i}", scopes=[{"value": s} for s in r.sample(SCOPES, 3)], signing_alg="RS256", token_lifetime=86400)
        elif kind == "keys":
            base.update(kid=self.word(ALNUM, 20), cert="-----BEGIN CERTIFICATE-----\n" + self.word(ALNUM + "+/", 880) + "\n-----END CERTIFICATE-----", current=i == 0)
        elif kind == "email_templates":
            base.update(template=r.choice(["verify_email", "reset_email", "welcome_email"]), body="<html><body><p>Hello {{ user.name }},</p>" + self.word(ALNUM + " ", 400) + "</body></html>", syntax="liquid")
        else:
            base.update(value=self.word(ALNUM, r.randrange(16, 200)), updated_at=self.when(), flags={f"flag_{k}": r.random() < 0.5 for k in range(r.randrange(1, 6))})
        return base


def metadata(gen, name, indexes):
    return {
        "options": {},
        "indexes": [{"v": {"$numberInt": "2"}, "key": {k: {"$numberInt": str(d)} for k, d in key}, "name": n} for n, key in indexes],
        "uuid": gen.hex(32),
        "collectionName": name,
        "type": "collection",
    }


class Writer:
    def __init__(self, root):
        self.root = root
        self.files = 0
        self.bytes = 0

    def collection(self, gen, db, name, docs, indexes=()):
        """Writes the documents of the iterator `docs` until it ends."""
        d = os.path.join(self.root, "dump", db)
        os.makedirs(d, exist_ok=True)
        n = 0
        with open(os.path.join(d, f"{name}.bson"), "wb") as f:
            buf = []
            size = 0
            for doc in docs:
                b = encode(doc)
                buf.append(b)
                size += len(b)
                if size >= 1 << 20:
                    f.write(b"".join(buf))
                    n += size
                    buf, size = [], 0
            f.write(b"".join(buf))
            n += size
        meta = json.dumps(metadata(gen, name, [("_id_", [("_id", 1)])] + list(indexes))).encode()
        with open(os.path.join(d, f"{name}.metadata.json"), "wb") as f:
            f.write(meta)
        self.files += 2
        self.bytes += n + len(meta)
        return n


def until(budget, make):
    """Yields documents from make(i) until about `budget` bytes of BSON were produced."""
    # The encoded size is only known after encoding: estimate from the first documents.
    i = 0
    produced = 0
    sample = None
    while produced < budget:
        doc = make(i)
        if sample is None or i < 64:
            size = len(encode(doc))
            sample = size if sample is None else (sample * i + size) / (i + 1)
        produced += sample
        i += 1
        yield doc


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("outdir")
    ap.add_argument("--mb", type=float, default=1000, help="total size in MB (10^6 bytes)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    total = int(args.mb * 1_000_000)
    gen = Gen(args.seed)
    w = Writer(args.outdir)
    if os.path.exists(os.path.join(args.outdir, "dump")):
        sys.exit(f"{args.outdir}/dump exists already")

    # ~88% in a few large collections of the main database, ~12% in many small ones.
    tenants = ["acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka"]
    small_kinds = ["connections", "rules", "resource_servers", "keys", "email_templates", "tenant_settings", "hooks", "roles", "prompts", "branding"]
    clients_by_tenant = {}
    small_budget = total * 12 // 100
    per_small = max(2000, small_budget // (len(tenants) * (len(small_kinds) + 1)))
    for t in tenants:
        db = f"auth0-{t}" if t != "acme" else "auth0"
        docs = []

        def make_client(i, t=t, docs=docs):
            c = gen.client(t, i)
            docs.append((c["client_id"], c["name"]))
            return c

        w.collection(gen, db, "clients", until(per_small, make_client), [("client_id_1", [("client_id", 1)])])
        clients_by_tenant[t] = docs or [(gen.client_id(), "Default App")]
        for kind in small_kinds:
            w.collection(gen, db, kind, until(gen.r.randrange(per_small // 4, per_small * 7 // 4 + 1), lambda i, t=t, k=kind: gen.small(t, k, i)))

    big = total - w.bytes
    clients = clients_by_tenant["acme"]
    w.collection(gen, "auth0", "users", until(big * 38 // 100, lambda i: gen.user("acme", i)), [("email_1", [("email", 1)]), ("user_id_1", [("user_id", 1)])])
    w.collection(gen, "auth0", "logs", until(big * 37 // 100, lambda i: gen.log("acme", i, clients)), [("date_-1", [("date", -1)])])
    w.collection(gen, "auth0", "sessions", until(big * 15 // 100, lambda i: gen.session("acme")), [("sid_1", [("sid", 1)])])
    w.collection(gen, "auth0", "grants", until(big * 10 // 100, lambda i: gen.grant("acme", clients)))
    w.collection(gen, "admin", "system.version", iter([{"_id": "featureCompatibilityVersion", "version": "6.0"}]))
    with open(os.path.join(args.outdir, "dump", "oplog.bson"), "wb"):
        pass
    w.files += 1
    print(f"{w.files} files, {w.bytes / 1e6:.1f} MB of BSON and metadata in {args.outdir}/dump ({ENCODER})")


if __name__ == "__main__":
    main()
