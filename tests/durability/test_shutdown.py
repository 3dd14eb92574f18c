"""Graceful shutdown is promised from the moment the server says it is listening: a supervisor
(systemd, a container runtime, our own fixtures) may send SIGTERM right after the ready line, and
the process must still shut down cleanly and exit 0, not die of the signal.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sdk"))

from chronik_harness import Server  # noqa: E402

#: Starts per run. Each takes a few tens of milliseconds; a window between the ready line and
#: the signal handler shows up in almost every start, so a handful is enough to catch it.
STARTS = 5


def test_sigterm_right_after_the_ready_line_exits_zero(tmp_path):
    codes = []
    for i in range(STARTS):
        server = Server(tmp_path / f"data{i}")
        server.start()
        codes.append(server.stop())
    assert codes == [0] * STARTS, (
        f"exit codes after SIGTERM right after 'chronik listening on': {codes} "
        "(-15 means the process died of the signal instead of shutting down)"
    )
