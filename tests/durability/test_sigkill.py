"""A 2xx means the write is on disk: SIGKILL the release binary while writers are busy, restart
it on the same data (directory or PostgreSQL schema), and find every acknowledged write.

Writers call the admin API from several threads: `POST /admin/v1/accounts` (a new account) and
`POST /admin/v1/accounts/{id}/visitors` (a new contact per distinct email). After the restart:
- every acknowledged account is listed by `GET /admin/v1/accounts` with its name;
- every acknowledged visitor's email still has its contact: linking it again with a new utk
  returns the same `contactId` and `contactCreated: false`;
- a new account after the restart gets a portalId no acknowledged account had.
Writes that were in flight when the process died may or may not be there; nothing is asserted
about them. Load is bounded in count and time and goes only to 127.0.0.1.
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

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sdk"))

from chronik_harness import BACKENDS, Backend, Server  # noqa: E402

#: Writer threads. Enough to keep several requests in flight on two cores.
WRITERS = 8
#: Upper bound on write requests per run, whatever the machine's speed.
MAX_WRITES = 4000
#: The kill comes after this many writes have started or after WRITE_WINDOW_SECS, whichever is
#: first; the writers keep going (up to MAX_WRITES), so requests are in flight when it lands.
KILL_AFTER_WRITES = MAX_WRITES // 2
#: How long the writers run before the kill, at most.
WRITE_WINDOW_SECS = 2.0
#: Acknowledged writes needed before the kill for the run to prove anything.
MIN_ACKED_BEFORE_KILL = 20
#: Timeout of one write; after the kill, calls fail at once (connection refused or reset).
WRITE_TIMEOUT_SECS = 10
#: Every this many writes a thread creates an account; the rest link visitors.
ACCOUNT_EVERY = 5


@dataclass
class Ledger:
    """What the writers saw, shared between threads under `lock`."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    started: int = 0
    in_flight: int = 0
    accounts: dict[int, str] = field(default_factory=dict)  # portalId -> name
    visitors: list[dict] = field(default_factory=list)  # acknowledged VisitorOut bodies
    unexpected: list[str] = field(default_factory=list)  # failures before the kill
    lost_in_flight: int = 0  # calls cut off by the kill (unknown outcome)

    def acked(self) -> int:
        with self.lock:
            return len(self.accounts) + len(self.visitors)


def writer(
    server: Server,
    account: int,
    ledger: Ledger,
    killing: threading.Event,
    stop: threading.Event,
    tag: str,
):
    n = 0
    while not stop.is_set():
        with ledger.lock:
            if ledger.started >= MAX_WRITES:
                return
            ledger.started += 1
            ledger.in_flight += 1
        n += 1
        key = f"{tag}-{n}-{uuid.uuid4().hex[:8]}"
        try:
            if n % ACCOUNT_EVERY == 0:
                path, body = "/admin/v1/accounts", {"name": f"durability {key}"}
            else:
                path = f"/admin/v1/accounts/{account}/visitors"
                body = {"utk": f"utk{key.replace('-', '')}", "email": f"{key}@durability.test"}
            status, _, payload = server.request(
                "POST",
                path,
                body,
                headers={"Authorization": f"Bearer {server.admin_token}"},
                timeout=WRITE_TIMEOUT_SECS,
            )
        except (OSError, http.client.HTTPException) as e:
            with ledger.lock:
                ledger.in_flight -= 1
                if killing.is_set():
                    # Refused, reset or cut off by the kill: unknown outcome.
                    ledger.lost_in_flight += 1
                else:
                    ledger.unexpected.append(f"POST {path} -> {e!r}")
            return
        with ledger.lock:
            ledger.in_flight -= 1
            if 200 <= status < 300:
                out = json.loads(payload)
                if path == "/admin/v1/accounts":
                    ledger.accounts[out["portalId"]] = out["name"]
                else:
                    ledger.visitors.append(out)
            elif not killing.is_set():
                ledger.unexpected.append(f"POST {path} -> {status}: {payload[:300]!r}")


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_acknowledged_writes_survive_sigkill(backend_name, tmp_path):
    backend = Backend.prepare(backend_name, prefix="dur")
    server = Server(tmp_path / "data", database_url=backend.database_url)
    try:
        run_and_check(server, backend_name)
    finally:
        if server.proc is not None:
            server.kill()
        backend.cleanup()


def run_and_check(server: Server, label: str):
    server.start()
    home = server.create_account("durability home")["portalId"]

    ledger = Ledger()
    killing = threading.Event()
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=writer, args=(server, home, ledger, killing, stop, f"w{i}"), daemon=True
        )
        for i in range(WRITERS)
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
    acked = ledger.acked()
    assert acked >= MIN_ACKED_BEFORE_KILL, f"only {acked} writes acknowledged before the kill"
    assert in_flight_at_kill > 0, "no write was in flight when the server was killed"
    print(
        f"\n[{label}] acknowledged {len(ledger.accounts)} accounts and "
        f"{len(ledger.visitors)} visitors; {in_flight_at_kill} in flight at SIGKILL, "
        f"{ledger.lost_in_flight} calls cut off"
    )

    server.start()

    listed = server.admin("GET", "/admin/v1/accounts")["results"]
    names = {a["portalId"]: a["name"] for a in listed}
    missing = {pid: name for pid, name in ledger.accounts.items() if names.get(pid) != name}
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

    assert all(v["contactCreated"] is True for v in ledger.visitors), "an email was not new"
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        problems = [p for p in pool.map(relink, ledger.visitors) if p]
    assert not problems, f"{len(problems)} acknowledged visitors lost: {problems[:5]}"

    fresh = server.create_account("after the crash")["portalId"]
    assert fresh not in ledger.accounts and fresh != home, f"portalId {fresh} was handed out twice"

    code = server.stop()
    assert code == 0, f"chronik exited with {code} after SIGTERM\n{server.log_tail()}"
