"""The Pipes client that launches training stops every process the launcher started (its process group)."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import dagster as dg
import psutil

from egom2p.assets.pipes import ProcessGroupPipesClient
from egom2p.procs import group_alive, stop_group

# a "launcher" that starts two "ranks" (both ignore SIGINT, as a rank blocked in a collective may), writes
# their pids to argv[2], then waits (argv[1] == "wait") or exits at once leaving them behind ("exit")
LAUNCHER = textwrap.dedent("""
    import os, signal, subprocess, sys, time
    out = sys.argv[2]
    rank = ("import os, signal, sys, time; signal.signal(signal.SIGINT, signal.SIG_IGN); "
            "open(sys.argv[1] + '.ready' + str(os.getpid()), 'w').close(); time.sleep(120)")
    kids = [subprocess.Popen([sys.executable, "-c", rank, out]) for _ in range(2)]
    while not all(os.path.exists(out + ".ready" + str(k.pid)) for k in kids):   # handlers installed
        time.sleep(0.01)
    open(out + ".tmp", "w").write(" ".join(str(k.pid) for k in kids))
    os.replace(out + ".tmp", out)
    if sys.argv[1] == "wait":
        time.sleep(120)
""")


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _ranks(path, timeout_s: float = 60) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        assert time.monotonic() < deadline, "the launcher did not start its ranks"
        time.sleep(0.05)
    return [int(x) for x in path.read_text().split()]


def test_stop_group_reaches_every_rank_and_escalates(tmp_path):
    pids = tmp_path / "pids"
    proc = subprocess.Popen([sys.executable, "-c", LAUNCHER, "wait", str(pids)], start_new_session=True)
    ranks = _ranks(pids)
    assert len(ranks) == 2 and all(os.getpgid(r) == proc.pid for r in ranks)
    sent = stop_group(proc, grace_s=1.0)
    assert sent == ["SIGINT", "SIGTERM"]        # the ranks ignored SIGINT; SIGTERM after the grace ended them
    assert not group_alive(proc.pid) and not any(_alive(r) for r in ranks)
    assert proc.returncode == -signal.SIGINT    # the launcher itself stopped at the first signal


def test_ranks_outliving_their_launcher_are_stopped(tmp_path):
    pids = tmp_path / "pids"

    @dg.asset
    def launches(context: dg.AssetExecutionContext, pipes: ProcessGroupPipesClient):
        pipes.run(command=[sys.executable, "-c", LAUNCHER, "exit", str(pids)], context=context)
        return dg.MaterializeResult()

    assert dg.materialize([launches], resources={"pipes": ProcessGroupPipesClient(grace_s=1.0)}).success
    ranks = _ranks(pids)
    assert len(ranks) == 2 and not any(_alive(r) for r in ranks)


def test_stop_group_with_sigterm_first(tmp_path):
    """The sequence the demo and the tests use for dagster processes: SIGTERM, then SIGKILL."""
    pids = tmp_path / "pids"
    proc = subprocess.Popen([sys.executable, "-c", LAUNCHER, "wait", str(pids)], start_new_session=True)
    ranks = _ranks(pids)
    assert stop_group(proc, 5.0, signals=(signal.SIGTERM, signal.SIGKILL)) == ["SIGTERM"]
    assert proc.returncode == -signal.SIGTERM and not any(_alive(r) for r in ranks)
