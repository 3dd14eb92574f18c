"""The README's quickstart, run exactly as written, so it cannot fall behind the server.

The block between `<!-- quickstart:begin -->` and `<!-- quickstart:end -->` in README.md goes to
`bash -euo pipefail` as it stands, against a fresh server on each backend, with what the README
says the reader has set up before it: `chronik` on the PATH (here the binary under test), and
`CHRONIK_URL` and `CHRONIK_ADMIN_TOKEN` exported. It may use only `chronik`, `curl` and the shell.
The test then checks what the block printed: the account, the completion read back with its
property, and the CRM record, and reads the same through the API with the token the block made.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from chronik_harness import BACKENDS, REPO_ROOT, Backend, Server, chronik_bin

README = REPO_ROOT / "README.md"
BEGIN = "<!-- quickstart:begin -->"
END = "<!-- quickstart:end -->"
#: The whole block is a handful of requests; anything near this means a hang.
BLOCK_TIMEOUT_SECS = 120


def quickstart_block() -> str:
    """The shell code of the one fenced block between the markers."""
    text = README.read_text("utf-8")
    assert text.count(BEGIN) == 1 and text.count(END) == 1, "README.md needs one quickstart block"
    inner = text.split(BEGIN, 1)[1].split(END, 1)[0]
    fence = re.fullmatch(r"\s*```sh\n(.*?)```\s*", inner, re.S)
    assert fence, f"the quickstart markers must enclose exactly one ```sh block:\n{inner}"
    return fence.group(1)


def json_lines(stdout: str) -> list[dict]:
    """Every line of the output that is a JSON object (curl's answers), in order."""
    out = []
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def test_the_block_uses_only_chronik_curl_and_the_shell():
    block = quickstart_block()
    assert "jq" not in re.findall(r"[a-z]+", block), "the quickstart must not need jq"
    assert "CHRONIK_URL" in block and "chronik admin" in block and "curl" in block


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_readme_quickstart_runs_as_written(backend_name, tmp_path):
    curl = shutil.which("curl")
    assert curl, "the README quickstart needs curl on the PATH (.ci/run installs it)"
    backend = Backend.prepare(backend_name, prefix="qs")
    server = Server(tmp_path / "data", database_url=backend.database_url)
    try:
        server.start()
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        (bin_dir / "chronik").symlink_to(chronik_bin())
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHRONIK_")}
        env.update(
            PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
            CHRONIK_URL=server.base_url,
            CHRONIK_ADMIN_TOKEN=server.admin_token,
        )
        work = tmp_path / "work"
        work.mkdir()
        run = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", quickstart_block()],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=BLOCK_TIMEOUT_SECS,
        )
        assert run.returncode == 0, (
            f"the quickstart failed with {run.returncode}\nstdout:\n{run.stdout}\n"
            f"stderr:\n{run.stderr}\n{server.log_tail()}"
        )
        check_output(server, run.stdout)
        code = server.stop()
        assert code == 0, f"chronik exited with {code} after SIGTERM\n{server.log_tail()}"
    finally:
        if server.proc is not None:
            server.kill()
        backend.cleanup()


def check_output(server: Server, stdout: str) -> None:
    first = re.search(r"^account (\d+), private app token (pat-\S+)$", stdout, re.M)
    assert first, f"no 'account …, private app token …' line in:\n{stdout}"
    portal_id, token = first.group(1), first.group(2)
    event_type = f"pe{portal_id}_demo_booked"
    assert re.search(r"^send: 204$", stdout, re.M), stdout

    answers = json_lines(stdout)
    definition = next(a for a in answers if a.get("name") == "demo_booked")
    assert definition["fullyQualifiedName"] == event_type

    pages = [a for a in answers if "results" in a]
    assert len(pages) == 1, stdout
    [completion] = pages[0]["results"]
    assert completion["eventType"] == event_type
    assert completion["objectType"] == "CONTACT"
    assert completion["occurredAt"] == "2026-12-01T09:30:00.000Z"
    assert completion["properties"] == {"plan": "pro"}

    records = [
        a
        for a in answers
        if isinstance(a.get("properties"), dict) and a["properties"].get("firstname") == "Grace"
    ]
    assert len(records) == 2, f"expected the created and the read contact:\n{stdout}"
    created, read = records
    assert created["properties"]["email"] == "grace@example.com"
    assert read["id"] == created["id"]
    assert read["properties"]["lastname"] == "Hopper"

    # The same, through the API with the block's own token: the send's contact has the email.
    auth = {"Authorization": f"Bearer {token}"}
    status, _, body = server.request(
        "GET", f"/crm/v3/objects/contacts/{completion['objectId']}?properties=email", headers=auth
    )
    assert status == 200, body
    assert json.loads(body)["properties"]["email"] == "ada@example.com"
    status, _, body = server.request(
        "GET", f"/crm/v3/objects/contacts/{created['id']}?properties=firstname", headers=auth
    )
    assert status == 200, body
    assert json.loads(body)["properties"]["firstname"] == "Grace"
