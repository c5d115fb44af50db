"""Stopping a process group: a command started with ``start_new_session=True`` (its own process group, which
every child inherits: a training launcher's ranks, ``dagster dev``'s webserver, daemon and code servers)."""
from __future__ import annotations

import os
import signal
import time
from subprocess import Popen
from typing import Callable, Sequence

ESCALATE_S = 5.0    # wait after each signal but the first


def group_alive(pgid: int) -> bool:
    """Whether any process of group ``pgid`` still exists (zombies included: reap yours first)."""
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:     # a member we may not signal still exists
        return True


def stop_group(proc: Popen, grace_s: float, log: Callable[[str], None] = lambda msg: None,
               signals: Sequence[signal.Signals] = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)) -> list[str]:
    """Send ``signals`` in turn to ``proc``'s process group until no member is left: ``grace_s`` seconds after
    the first, ``ESCALATE_S`` after each later one. Returns the names of the signals sent (for logs and tests)."""
    pgid, sent = proc.pid, []
    for k, sig in enumerate(signals):
        proc.poll()             # reap the group leader so that it is not counted as a member
        if not group_alive(pgid):
            break
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        sent.append(sig.name)
        log(f"{sig.name} to process group {pgid}")
        deadline = time.monotonic() + (grace_s if k == 0 else ESCALATE_S)
        while time.monotonic() < deadline:
            proc.poll()
            if not group_alive(pgid):
                break
            time.sleep(0.1)
    proc.poll()
    return sent
