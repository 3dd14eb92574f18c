"""Runs the release `chronik` binary for the Python suites and provisions it through /admin/v1.

Shared by `tests/sdk/` (imported by its conftest) and `tests/durability/` (which puts this folder
on `sys.path`). Nothing here talks to HubSpot's APIs: the tests do that through the official SDK.

Backends:
- `sqlite`: a fresh temp data directory per server.
- `postgres`: a fresh schema in the database named by `CHRONIK_TEST_DATABASE_URL`, created and
  dropped here with psycopg. The server is given the same URL plus
  `?options=-c%20search_path%3D<schema>`; sqlx passes `options` on as PostgreSQL's startup
  `options` parameter (libpq's syntax), so every unqualified table, `schema_migrations`
  included, lands in that schema. `PgSchema.tables()` lets a caller check that it did.
  Without the variable the PostgreSQL half skips, and under CI it fails instead (`CI` set to
  `true`, `1` or `yes`, in any case: the rule of the Rust tests, `crates/chronik-test-macros`).
"""

from __future__ import annotations

import json
import os
import secrets
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

BACKENDS = ("sqlite", "postgres")

#: How long the server may take to print its address (migrations on a busy 2-core machine).
STARTUP_TIMEOUT_SECS = 60
#: How long a SIGTERM'd server may take to finish requests in flight and exit.
SHUTDOWN_TIMEOUT_SECS = 30
#: Per-request timeout of the admin client.
REQUEST_TIMEOUT_SECS = 30

LISTENING_PREFIX = "chronik listening on "
ADMIN_TOKEN_PREFIX = "admin token (shown once, stored in the data directory): "


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL it if the test process dies (Linux), so an aborted run
    (timeout, Ctrl-C, crash) leaves no server behind."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def chronik_bin() -> Path:
    """The binary under test: `$CHRONIK_BIN`, else `target/release/chronik` in the repo."""
    raw = os.environ.get("CHRONIK_BIN")
    path = Path(raw) if raw else REPO_ROOT / "target" / "release" / "chronik"
    if not path.is_absolute():
        path = REPO_ROOT / path
    if not path.is_file():
        pytest.fail(
            f"chronik binary not found at {path}; run `cargo build --release -p chronik` "
            "or set CHRONIK_BIN",
            pytrace=False,
        )
    return path


def running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def database_url_from_env() -> str:
    """`CHRONIK_TEST_DATABASE_URL`, or skip (fail under CI=true) when it is missing."""
    url = os.environ.get("CHRONIK_TEST_DATABASE_URL", "").strip()
    if url:
        return url
    if running_in_ci():
        pytest.fail(
            "CI=true but CHRONIK_TEST_DATABASE_URL is not set; the PostgreSQL half must run in CI",
            pytrace=False,
        )
    pytest.skip("CHRONIK_TEST_DATABASE_URL is not set; PostgreSQL half skipped")


def with_search_path(url: str, schema: str) -> str:
    """`url` with a libpq `options` parameter that sets `search_path` to `schema` only."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    query.append(("options", f"-c search_path={schema}"))
    encoded = urllib.parse.urlencode(query, quote_via=urllib.parse.quote, safe="")
    return urllib.parse.urlunsplit(parts._replace(query=encoded))


class PgSchema:
    """A fresh, uniquely named schema in the test database; dropped with everything in it."""

    def __init__(self, base_url: str, prefix: str):
        self.base_url = base_url
        self.name = f"{prefix}_{uuid.uuid4().hex[:16]}"
        self.url = with_search_path(base_url, self.name)

    def _execute(self, sql: str, params=()) -> list:
        import psycopg  # only the PostgreSQL half needs it

        with psycopg.connect(self.base_url, autocommit=True, connect_timeout=10) as conn:
            cur = conn.execute(sql, params)
            return cur.fetchall() if cur.description else []

    def create(self) -> "PgSchema":
        self._execute(f'CREATE SCHEMA "{self.name}"')
        return self

    def drop(self) -> None:
        self._execute(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')

    def tables(self) -> set[str]:
        rows = self._execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (self.name,),
        )
        return {r[0] for r in rows}


class AdminError(AssertionError):
    """An /admin/v1 call answered with a status the caller did not expect."""


class Server:
    """One `chronik serve` process on 127.0.0.1 with a random port.

    `start()` can be called again after `stop()` or `kill()`: the data directory (and the
    database URL) stay, so a restart sees what the previous process committed.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        database_url: str | None = None,
        access_token_ttl: int | None = None,
        log_path: Path | None = None,
    ):
        self.data_dir = Path(data_dir)
        self.database_url = database_url
        self.access_token_ttl = access_token_ttl
        self.admin_token = "chronik-test-admin-" + secrets.token_hex(16)
        self.log_path = log_path or self.data_dir.parent / f"{self.data_dir.name}.log"
        self.base_url: str | None = None
        self.proc: subprocess.Popen | None = None
        self._log = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> "Server":
        assert self.proc is None, "server already running"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            str(chronik_bin()),
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--data",
            str(self.data_dir),
            "--admin-token",
            self.admin_token,
        ]
        if self.database_url:
            args += ["--database-url", self.database_url]
        if self.access_token_ttl is not None:
            args += ["--access-token-ttl", str(self.access_token_ttl)]
        # The server reads CHRONIK_* variables as flag defaults (CHRONIK_DATABASE_URL would
        # silently switch the backend); keep the caller's environment out of it.
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHRONIK_")}
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        self.base_url = self._read_address()
        # Nothing else is printed on stdout, but drain it so a chatty build can never block.
        threading.Thread(target=self._drain_stdout, daemon=True).start()
        return self

    def _read_address(self) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECS
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        buf = b""
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.kill()
                    raise AssertionError(
                        f"chronik printed no address within {STARTUP_TIMEOUT_SECS}s\n{self.log_tail()}"
                    )
                if not sel.select(timeout=min(left, 1.0)):
                    continue
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    code = self.proc.wait(timeout=SHUTDOWN_TIMEOUT_SECS)
                    self.proc = None
                    raise AssertionError(
                        f"chronik exited with {code} before listening\n{self.log_tail()}"
                    )
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    text = line.decode("utf-8", "replace").strip()
                    if text.startswith(ADMIN_TOKEN_PREFIX):
                        self.admin_token = text[len(ADMIN_TOKEN_PREFIX) :]
                    elif text.startswith(LISTENING_PREFIX):
                        address = text[len(LISTENING_PREFIX) :]
                        assert address.startswith("http://127.0.0.1:"), address
                        return address
        finally:
            sel.close()

    def _drain_stdout(self) -> None:
        proc = self.proc
        if proc is None or proc.stdout is None:
            return
        try:
            while proc.stdout.read(4096):
                pass
        except (OSError, ValueError):
            pass

    def stop(self) -> int:
        """SIGTERM, wait for a graceful exit, and return the exit code."""
        assert self.proc is not None, "server not running"
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=SHUTDOWN_TIMEOUT_SECS)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self._closed()
            raise AssertionError(
                f"chronik did not exit within {SHUTDOWN_TIMEOUT_SECS}s of SIGTERM\n{self.log_tail()}"
            )
        self._closed()
        return code

    def kill(self) -> int:
        """SIGKILL: the process gets no chance to flush or clean up."""
        assert self.proc is not None, "server not running"
        self.proc.send_signal(signal.SIGKILL)
        code = self.proc.wait(timeout=SHUTDOWN_TIMEOUT_SECS)
        self._closed()
        return code

    def _closed(self) -> None:
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text("utf-8", "replace")
        except OSError:
            return "(no server log)"
        return "--- chronik stderr (tail) ---\n" + "\n".join(text.splitlines()[-lines:])

    # -- admin API -------------------------------------------------------------------------

    def admin(self, method: str, path: str, body=None, *, expect: int = 200):
        """Calls /admin/v1 with the admin token; returns the decoded JSON (None for 204)."""
        status, headers, payload = self.request(
            method, path, body, headers={"Authorization": f"Bearer {self.admin_token}"}
        )
        if status != expect:
            raise AdminError(f"{method} {path}: expected {expect}, got {status}: {payload!r}")
        return json.loads(payload) if payload else None

    def request(self, method: str, path: str, body=None, *, headers=None, timeout=None):
        """A raw HTTP call to the server; returns (status, headers, body bytes), never raises
        for an HTTP status."""
        assert self.base_url is not None
        data = None
        all_headers = dict(headers or {})
        if body is not None:
            data = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        req = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers=all_headers
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout or REQUEST_TIMEOUT_SECS) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def create_account(self, name: str | None = None) -> dict:
        return self.admin(
            "POST",
            "/admin/v1/accounts",
            {"name": name or f"Test account {uuid.uuid4().hex[:8]}"},
            expect=201,
        )

    def create_app(self, name: str | None = None) -> dict:
        return self.admin(
            "POST",
            "/admin/v1/apps",
            {"name": name or f"Test app {uuid.uuid4().hex[:8]}"},
            expect=201,
        )


class Backend:
    """What a server needs to run on one backend; `cleanup()` drops a PostgreSQL schema."""

    def __init__(self, name: str, database_url: str | None, schema: PgSchema | None):
        self.name = name
        self.database_url = database_url
        self.schema = schema

    @classmethod
    def prepare(cls, name: str, prefix: str) -> "Backend":
        """Skips (or fails under CI) when PostgreSQL is asked for but not configured."""
        if name == "sqlite":
            return cls(name, None, None)
        assert name == "postgres", name
        schema = PgSchema(database_url_from_env(), prefix).create()
        return cls(name, schema.url, schema)

    def cleanup(self) -> None:
        if self.schema is not None:
            self.schema.drop()


def new_tempdir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))
