"""A 2xx means the write is on disk: SIGKILL the release binary while writers are busy, restart
it on the same data (directory or PostgreSQL schema), and find every acknowledged write.

Two trials, each on both backends:

- **Admin writes.** `POST /admin/v1/accounts` (a new account) and
  `POST /admin/v1/accounts/{id}/visitors` (a new contact per distinct email). After the restart
  every acknowledged account is listed with its name; every acknowledged visitor's email still
  has its contact (linking it again returns the same `contactId` and `contactCreated: false`);
  a new account gets a portalId no acknowledged account had.
- **Custom event sends and CRM writes**, with a private app's token: single sends
  (`POST /events/v3/send`, by email, so each also creates its contact), batch sends
  (`/events/v3/send/batch`), contact creates, updates (`PATCH`), batch creates and batch
  updates. After the restart every acknowledged completion is read back by its `uuid` (once),
  every acknowledged record has its email, and every updated property holds the last
  acknowledged value, or the one sent after it when that request was cut off by the kill.

Writes that were in flight when the process died may or may not be there; nothing else is
asserted about them. Each trial is bounded in count and time and goes only to 127.0.0.1.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sdk"))

from chronik_harness import BACKENDS, Backend, Server  # noqa: E402

#: Writer threads. Enough to keep several requests in flight on two cores.
WRITERS = 8
#: Upper bound on write requests per trial, whatever the machine's speed.
MAX_WRITES = 4000
#: The kill comes after this many writes have started or after WRITE_WINDOW_SECS, whichever is
#: first; the writers keep going (up to MAX_WRITES), so requests are in flight when it lands.
KILL_AFTER_WRITES = MAX_WRITES // 2
#: How long the writers run before the kill, at most.
WRITE_WINDOW_SECS = 2.0
#: Acknowledged writes needed before the kill for the trial to prove anything.
MIN_ACKED_BEFORE_KILL = 20
#: Timeout of one write; after the kill, calls fail at once (connection refused or reset).
WRITE_TIMEOUT_SECS = 10
#: Every this many writes a thread creates an account; the rest link visitors.
ACCOUNT_EVERY = 5
#: Completions per batch send, and contacts per batch create or batch update.
SEND_BATCH = 20
CRM_BATCH = 5
#: Read-back page sizes: the events API's and the CRM batch read's maximums.
EVENTS_PAGE = 1000
CRM_READ_BATCH = 100

SEND_SCOPES = [
    "analytics.behavioral_events.send",
    "behavioral_events.event_definitions.read_write",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
]


@dataclass
class Write:
    """One request a writer makes; `on_ack(payload)` records it once answered 2xx (called under
    the ledger's lock)."""

    kind: str
    method: str
    path: str
    body: object
    on_ack: Callable[[bytes], None]


@dataclass
class Ledger:
    """What the writers saw, shared between threads under `lock`."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    started: int = 0
    in_flight: int = 0
    acked: dict[str, int] = field(default_factory=dict)  # kind -> acknowledged writes
    unexpected: list[str] = field(default_factory=list)  # failures before the kill
    lost_in_flight: int = 0  # calls cut off by the kill (unknown outcome)

    def total_acked(self) -> int:
        with self.lock:
            return sum(self.acked.values())


def writer(
    server: Server,
    ledger: Ledger,
    killing: threading.Event,
    stop: threading.Event,
    next_write: Callable[[int], Write],
    headers: dict,
):
    n = 0
    while not stop.is_set():
        with ledger.lock:
            if ledger.started >= MAX_WRITES:
                return
            ledger.started += 1
            ledger.in_flight += 1
        n += 1
        w = next_write(n)
        try:
            status, _, payload = server.request(
                w.method, w.path, w.body, headers=headers, timeout=WRITE_TIMEOUT_SECS
            )
        except (OSError, http.client.HTTPException) as e:
            with ledger.lock:
                ledger.in_flight -= 1
                if killing.is_set():
                    # Refused, reset or cut off by the kill: unknown outcome.
                    ledger.lost_in_flight += 1
                else:
                    ledger.unexpected.append(f"{w.method} {w.path} -> {e!r}")
            return
        with ledger.lock:
            ledger.in_flight -= 1
            if 200 <= status < 300 and status != 207:
                ledger.acked[w.kind] = ledger.acked.get(w.kind, 0) + 1
                w.on_ack(payload)
            elif not killing.is_set():
                ledger.unexpected.append(f"{w.method} {w.path} -> {status}: {payload[:300]!r}")


def kill_while_writing(
    server: Server,
    label: str,
    writers: list[tuple[Callable[[int], Write], dict]],
    kinds: list[str],
) -> Ledger:
    """Runs one writer thread per `(next_write, headers)`, SIGKILLs the server while requests
    are in flight, and checks that the trial proved something: no failure before the kill,
    enough acknowledged writes, at least one of each kind, one request in flight at the kill."""
    ledger = Ledger()
    killing = threading.Event()
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=writer, args=(server, ledger, killing, stop, next_write, headers), daemon=True
        )
        for next_write, headers in writers
    ]
    for t in threads:
        t.start()

    # Let the writers run for the window (or up to KILL_AFTER_WRITES), then kill the server at a
    # moment when at least one request is outstanding.
    deadline = time.monotonic() + WRITE_WINDOW_SECS
    while time.monotonic() < deadline and ledger.started < KILL_AFTER_WRITES:
        time.sleep(0.005)
    in_flight_at_kill = 0
    kill_by = time.monotonic() + 1.0
    while time.monotonic() < kill_by:
        with ledger.lock:
            in_flight_at_kill = ledger.in_flight
        if in_flight_at_kill:
            break
    # A write acknowledged in the last moment before the kill counts like any other: the
    # process answered 2xx, so it claimed the write was on disk.
    killing.set()
    code = server.kill()
    stop.set()
    for t in threads:
        t.join(timeout=WRITE_TIMEOUT_SECS + 5)
        assert not t.is_alive(), "a writer thread did not finish"
    assert code == -9, f"expected death by SIGKILL, got exit status {code}"

    assert not ledger.unexpected, "failed writes before the kill:\n" + "\n".join(ledger.unexpected[:10])
    acked = ledger.total_acked()
    assert acked >= MIN_ACKED_BEFORE_KILL, f"only {acked} writes acknowledged before the kill"
    missing_kinds = [k for k in kinds if not ledger.acked.get(k)]
    assert not missing_kinds, f"no acknowledged write of kind {missing_kinds}: {ledger.acked}"
    assert in_flight_at_kill > 0, "no write was in flight when the server was killed"
    print(
        f"\n[{label}] acknowledged {dict(sorted(ledger.acked.items()))}; "
        f"{in_flight_at_kill} in flight at SIGKILL, {ledger.lost_in_flight} calls cut off"
    )
    return ledger


@pytest.fixture(params=BACKENDS)
def server(request, tmp_path):
    backend = Backend.prepare(request.param, prefix="dur")
    server = Server(tmp_path / "data", database_url=backend.database_url)
    server.label = request.param
    try:
        server.start()
        yield server
        code = server.stop()
        assert code == 0, f"chronik exited with {code} after SIGTERM\n{server.log_tail()}"
    finally:
        if server.proc is not None:
            server.kill()
        backend.cleanup()


# -- admin writes ---------------------------------------------------------------------------


def test_acknowledged_admin_writes_survive_sigkill(server):
    home = server.create_account("durability home")["portalId"]
    accounts: dict[int, str] = {}  # portalId -> name
    visitors: list[dict] = []  # acknowledged VisitorOut bodies

    def admin_writes(tag: str) -> Callable[[int], Write]:
        def next_write(n: int) -> Write:
            key = f"{tag}-{n}-{uuid.uuid4().hex[:8]}"
            if n % ACCOUNT_EVERY == 0:

                def account_acked(payload: bytes):
                    out = json.loads(payload)
                    accounts[out["portalId"]] = out["name"]

                return Write(
                    "account", "POST", "/admin/v1/accounts", {"name": f"durability {key}"}, account_acked
                )
            return Write(
                "visitor",
                "POST",
                f"/admin/v1/accounts/{home}/visitors",
                {"utk": f"utk{key.replace('-', '')}", "email": f"{key}@durability.test"},
                lambda payload: visitors.append(json.loads(payload)),
            )

        return next_write

    auth = {"Authorization": f"Bearer {server.admin_token}"}
    kill_while_writing(
        server,
        f"{server.label}, admin",
        [(admin_writes(f"w{i}"), auth) for i in range(WRITERS)],
        ["account", "visitor"],
    )

    server.start()

    listed = server.admin("GET", "/admin/v1/accounts")["results"]
    names = {a["portalId"]: a["name"] for a in listed}
    missing = {pid: name for pid, name in accounts.items() if names.get(pid) != name}
    assert not missing, f"{len(missing)} acknowledged accounts lost or changed: {list(missing.items())[:5]}"
    assert home in names

    def relink(visitor: dict):
        new_utk = "relink" + uuid.uuid4().hex
        out = server.admin(
            "POST",
            f"/admin/v1/accounts/{home}/visitors",
            {"utk": new_utk, "email": visitor["email"]},
        )
        if out["contactId"] != visitor["contactId"] or out["contactCreated"] is not False:
            return f"{visitor['email']}: was {visitor['contactId']}, now {out}"
        return None

    assert all(v["contactCreated"] is True for v in visitors), "an email was not new"
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        problems = [p for p in pool.map(relink, visitors) if p]
    assert not problems, f"{len(problems)} acknowledged visitors lost: {problems[:5]}"

    fresh = server.create_account("after the crash")["portalId"]
    assert fresh not in accounts and fresh != home, f"portalId {fresh} was handed out twice"


# -- custom event sends and CRM writes --------------------------------------------------------


@dataclass
class Counter:
    """A property one writer alone updates with 1, 2, 3…: after the restart it holds `acked`, or
    `pending` when the request carrying it was cut off by the kill."""

    record_ids: list[str]
    acked: int = 0
    pending: int | None = None


@dataclass
class ApiLedger:
    completions: set[str] = field(default_factory=set)  # acknowledged uuids
    created: dict[str, str] = field(default_factory=dict)  # contact id -> email
    batch_created: list[tuple[list[str], set[str]]] = field(default_factory=list)  # ids, emails


def call(server: Server, token: str, method: str, path: str, body=None, expect=(200,)):
    status, _, payload = server.request(
        method, path, body, headers={"Authorization": f"Bearer {token}"}
    )
    assert status in expect, f"{method} {path}: {status} {payload[:500]!r}"
    return json.loads(payload) if payload else None


def create_contacts(server: Server, token: str, emails: list[str]) -> list[str]:
    out = call(
        server,
        token,
        "POST",
        "/crm/v3/objects/contacts/batch/create",
        {"inputs": [{"properties": {"email": e, "lastname": "0"}} for e in emails]},
        expect=(201,),
    )
    by_email = {}
    ids = [r["id"] for r in out["results"]]
    for record in read_contacts(server, token, ids, ["email"]).values():
        by_email[record["email"]] = record["hs_object_id"]
    return [by_email[e] for e in emails]


def read_contacts(server: Server, token: str, ids: list[str], properties: list[str]) -> dict:
    """id -> properties of the contacts that exist among `ids`."""
    found = {}
    for i in range(0, len(ids), CRM_READ_BATCH):
        chunk = ids[i : i + CRM_READ_BATCH]
        out = call(
            server,
            token,
            "POST",
            "/crm/v3/objects/contacts/batch/read",
            {"inputs": [{"id": x} for x in chunk], "properties": properties + ["hs_object_id"]},
            expect=(200, 207),
        )
        for r in out["results"]:
            found[r["id"]] = r["properties"]
    return found


def stored_completion_ids(server: Server, token: str, event_type: str) -> list[str]:
    ids: list[str] = []
    after = None
    while True:
        path = f"/events/v3/events?eventType={event_type}&limit={EVENTS_PAGE}&sort=ASCENDING"
        if after:
            path += f"&after={after}"
        page = call(server, token, "GET", path)
        ids += [c["id"] for c in page["results"]]
        after = page.get("paging", {}).get("next", {}).get("after")
        if not after:
            return ids


def test_acknowledged_sends_and_crm_writes_survive_sigkill(server):
    portal = server.create_account("durability sends")["portalId"]
    token = server.admin(
        "POST",
        f"/admin/v1/accounts/{portal}/private-apps",
        {"name": "durability", "scopes": SEND_SCOPES},
        expect=201,
    )["token"]
    call(
        server,
        token,
        "POST",
        "/events/v3/event-definitions",
        {
            "label": "Durability",
            "name": "durability",
            "primaryObject": "CONTACT",
            "includeDefaultProperties": False,
            "propertyDefinitions": [{"label": "N", "name": "n", "type": "string"}],
        },
        expect=(201,),
    )
    event_type = f"pe{portal}_durability"

    # Each writer owns one contact it PATCHes and CRM_BATCH it batch-updates (and sends batches
    # to), so the order of its own acknowledgements is the order of its writes.
    own = create_contacts(
        server, token, [f"own{i}-{j}@durability.test" for i in range(WRITERS) for j in range(1 + CRM_BATCH)]
    )
    patched = [Counter(own[i * (1 + CRM_BATCH) : i * (1 + CRM_BATCH) + 1]) for i in range(WRITERS)]
    batch_updated = [
        Counter(own[i * (1 + CRM_BATCH) + 1 : (i + 1) * (1 + CRM_BATCH)]) for i in range(WRITERS)
    ]
    ledger = ApiLedger()

    def api_writes(w: int) -> Callable[[int], Write]:
        def next_write(n: int) -> Write:
            key = f"w{w}-{n}-{uuid.uuid4().hex[:8]}"
            op = n % 6
            if op == 0:
                return Write(
                    "send",
                    "POST",
                    "/events/v3/send",
                    {
                        "eventName": event_type,
                        "email": f"{key}@send.durability.test",
                        "uuid": key,
                        "properties": {"n": str(n)},
                    },
                    lambda _: ledger.completions.add(key),
                )
            if op == 1:
                uuids = [f"{key}-{i}" for i in range(SEND_BATCH)]
                inputs = [
                    {"eventName": event_type, "objectId": patched[w].record_ids[0], "uuid": u}
                    for u in uuids
                ]
                return Write(
                    "send_batch",
                    "POST",
                    "/events/v3/send/batch",
                    {"inputs": inputs},
                    lambda _: ledger.completions.update(uuids),
                )
            if op == 2:
                email = f"{key}@crm.durability.test"

                def created(payload: bytes):
                    ledger.created[json.loads(payload)["id"]] = email

                return Write(
                    "create",
                    "POST",
                    "/crm/v3/objects/contacts",
                    {"properties": {"email": email, "firstname": key}},
                    created,
                )
            if op == 4:
                emails = {f"{key}-{i}@batch.durability.test" for i in range(CRM_BATCH)}

                def batch_created(payload: bytes):
                    ids = [r["id"] for r in json.loads(payload)["results"]]
                    ledger.batch_created.append((ids, emails))

                return Write(
                    "batch_create",
                    "POST",
                    "/crm/v3/objects/contacts/batch/create",
                    {"inputs": [{"properties": {"email": e}} for e in sorted(emails)]},
                    batch_created,
                )
            counter = patched[w] if op == 3 else batch_updated[w]
            value = counter.acked + 1
            counter.pending = value

            def updated(_: bytes):
                counter.acked = value
                counter.pending = None

            properties = {"lastname": str(value)}
            if op == 3:
                return Write(
                    "update",
                    "PATCH",
                    f"/crm/v3/objects/contacts/{counter.record_ids[0]}",
                    {"properties": properties},
                    updated,
                )
            return Write(
                "batch_update",
                "POST",
                "/crm/v3/objects/contacts/batch/update",
                {"inputs": [{"id": x, "properties": properties} for x in counter.record_ids]},
                updated,
            )

        return next_write

    auth = {"Authorization": f"Bearer {token}"}
    kill_while_writing(
        server,
        f"{server.label}, sends and CRM",
        [(api_writes(w), auth) for w in range(WRITERS)],
        ["send", "send_batch", "create", "update", "batch_create", "batch_update"],
    )

    server.start()

    stored = stored_completion_ids(server, token, event_type)
    assert len(stored) == len(set(stored)), "a completion was stored twice"
    lost = ledger.completions - set(stored)
    assert not lost, f"{len(lost)} of {len(ledger.completions)} acknowledged completions lost: {sorted(lost)[:5]}"

    records = read_contacts(server, token, list(ledger.created), ["email"])
    lost = {i: e for i, e in ledger.created.items() if records.get(i, {}).get("email") != e}
    assert not lost, f"{len(lost)} acknowledged contacts lost or changed: {list(lost.items())[:5]}"

    batch_ids = [i for ids, _ in ledger.batch_created for i in ids]
    records = read_contacts(server, token, batch_ids, ["email"])
    for ids, emails in ledger.batch_created:
        got = {records[i]["email"] for i in ids if i in records}
        assert got == emails, f"an acknowledged batch create lost contacts: {sorted(emails - got)}"

    counters = patched + batch_updated
    records = read_contacts(server, token, [i for c in counters for i in c.record_ids], ["lastname"])
    for c in counters:
        allowed = {str(c.acked)} | ({str(c.pending)} if c.pending is not None else set())
        for i in c.record_ids:
            value = records[i]["lastname"]
            assert value in allowed, (
                f"contact {i}: lastname {value!r} after the restart; acknowledged {c.acked}, "
                f"cut off {c.pending}"
            )
