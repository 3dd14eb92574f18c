"""Fixtures for the SDK suite: one release `chronik` per backend per session, provisioned through
/admin/v1, and clients of the official Python SDK (`hubspot-api-client` 12.0.0) pointed at it.

Every test that uses `chronik` runs once on SQLite and once on PostgreSQL (see
`chronik_harness.py` for how the PostgreSQL half gets its own schema, and when it skips).
"""

from __future__ import annotations

import pytest
from hubspot import HubSpot

from chronik_harness import BACKENDS, Backend, Server

#: The access-token lifetime the suite's servers run with. Not the default (1800), so the tests
#: prove that `--access-token-ttl` reaches the token endpoints.
ACCESS_TOKEN_TTL_SECS = 900


@pytest.fixture(scope="session", params=BACKENDS)
def chronik(request, tmp_path_factory) -> Server:
    """A running server on one backend, shared by the session; stopped with SIGTERM at the end,
    which must exit 0."""
    backend = Backend.prepare(request.param, prefix="sdk")
    root = tmp_path_factory.mktemp(f"chronik-{backend.name}")
    server = Server(
        root / "data",
        database_url=backend.database_url,
        access_token_ttl=ACCESS_TOKEN_TTL_SECS,
        log_path=root / "chronik.log",
    )
    try:
        server.start()
        if backend.schema is not None:
            # The migrations ran at start; they must have landed in our schema, not `public`.
            tables = backend.schema.tables()
            assert "schema_migrations" in tables, (
                f"no chronik tables in schema {backend.schema.name}: {sorted(tables)}"
            )
        yield server
        code = server.stop()
        assert code == 0, f"chronik exited with {code} after SIGTERM\n{server.log_tail()}"
    finally:
        if server.proc is not None:
            server.kill()
        backend.cleanup()


@pytest.fixture
def sdk(chronik) -> HubSpot:
    """An SDK client without credentials, as the OAuth endpoints are called."""
    return HubSpot(host=chronik.base_url, base_url=chronik.base_url)
