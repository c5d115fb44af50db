"""Build the command line that launches ``egom2p.model.train`` (python, torchrun or deepspeed).

Single node: ``processes`` ranks on this machine. Multi-node with DeepSpeed: a hostfile with lines
``worker-1 slots=8`` (slots = processes per host) — the launcher starts ranks over ssh on every host
(``--hostfile``); every host needs the same checkout, venv and data root path. Multi-node with torchrun
(or on Kubernetes) starts one launcher per node with ``--nnodes/--node_rank/--master_addr``; see the
"Training at scale" in docs/ml-engineer.md. No shell is involved: the command is an argv list.
"""
from __future__ import annotations

import socket
import sys
from dataclasses import dataclass
from pathlib import Path

LAUNCHERS = ("python", "torchrun", "deepspeed")


@dataclass(frozen=True)
class LaunchSpec:
    launcher: str = "python"      # python | torchrun | deepspeed
    processes: int = 1            # ranks per node (GPUs per node on a GPU machine)
    hostfile: str = ""            # deepspeed only: multi-node hostfile
    master_port: int = 0          # 0 = pick a free port

    def __post_init__(self):
        if self.launcher not in LAUNCHERS:
            raise ValueError(f"launcher must be one of {LAUNCHERS}, got {self.launcher!r}")
        if self.processes < 1:
            raise ValueError(f"processes must be ≥ 1, got {self.processes}")
        if self.launcher == "python" and self.processes != 1:
            raise ValueError("launcher 'python' runs one process; use torchrun or deepspeed for more")
        if self.hostfile and self.launcher != "deepspeed":
            raise ValueError("a hostfile needs launcher 'deepspeed'")
        if self.hostfile and not Path(self.hostfile).exists():
            raise FileNotFoundError(f"hostfile {self.hostfile} does not exist")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train_command(spec: LaunchSpec, config_path: str | Path, python: str = sys.executable,
                  extra: list[str] | tuple[str, ...] = ()) -> list[str]:
    """argv that runs ``python -m egom2p.model.train --config <config_path> [extra…]`` under ``spec``."""
    script = ["-m", "egom2p.model.train"] if spec.launcher != "deepspeed" else ["--module", "egom2p.model.train"]
    args = ["--config", str(config_path), *extra]
    port = str(spec.master_port or free_port())
    if spec.launcher == "python":
        return [python, *script, *args]
    if spec.launcher == "torchrun":
        return [python, "-m", "torch.distributed.run", "--nproc_per_node", str(spec.processes),
                "--master_port", port, *script, *args]
    launcher = str(Path(python).with_name("deepspeed"))
    host = ["--hostfile", spec.hostfile] if spec.hostfile else ["--num_gpus", str(spec.processes)]
    return [launcher, *host, "--master_port", port, *script, *args]
