"""A Pipes subprocess client whose termination reaches every process the command starts.

Dagster's ``PipesSubprocessClient`` forwards a run's cancellation as one SIGINT to the process it started.
A training launcher (torchrun, the deepspeed runner) is that process; its ranks are its children, and whether
they stop depends on the launcher (the deepspeed runner leaves ranks running when it is killed hard). Here the
command starts in a **session of its own** (``start_new_session``: its own process group, which every rank
inherits) and cancellation signals the whole group: SIGINT (ranks stop at once; a checkpoint on disk is
never half-written, checkpoints are committed by rename), then SIGTERM after ``grace_s``, then SIGKILL. Ranks
left over after the launcher exits by itself (a crashed launcher) are stopped the same way.

On Kubernetes the same holds per pod: ``dagster_k8s.PipesK8sClient`` deletes the pod on cancellation, and the
kubelet signals every process in it.
"""
from __future__ import annotations

import os
from subprocess import Popen
from typing import Mapping, Sequence

import dagster as dg
from dagster._core.errors import DagsterExecutionInterruptedError, DagsterPipesExecutionError
from dagster._core.pipes.client import PipesClientCompletedInvocation

from egom2p.procs import group_alive, stop_group


class ProcessGroupPipesClient(dg.PipesSubprocessClient):
    """``PipesSubprocessClient`` that runs the command in its own process group and stops the whole group on
    cancellation (see module docstring). ``grace_s``: seconds between SIGINT and SIGTERM."""

    def __init__(self, grace_s: float = 20.0, **kwargs):
        super().__init__(**kwargs)
        self.grace_s = float(grace_s)

    def run(self, *, context, extras=None, command: str | Sequence[str], env: Mapping[str, str] | None = None,
            cwd: str | None = None) -> PipesClientCompletedInvocation:
        with dg.open_pipes_session(context=context, context_injector=self.context_injector,
                                message_reader=self.message_reader, extras=extras) as session:
            proc = Popen(command, cwd=cwd or self.cwd, start_new_session=True,
                         env={**os.environ, **self.env, **(env or {}), **session.get_bootstrap_env_vars()})
            try:
                code = proc.wait()
                if group_alive(proc.pid):      # ranks outliving their launcher
                    stop_group(proc, 5.0, lambda msg: context.log.warning(f"[pipes] left-over ranks: {msg}"))
                if code != 0:
                    raise DagsterPipesExecutionError(f"External execution process failed with code {code}")
            except DagsterExecutionInterruptedError:
                context.log.info(f"[pipes] run cancelled: stopping process group {proc.pid} (every rank)")
                stop_group(proc, self.grace_s, lambda msg: context.log.info(f"[pipes] {msg}"))
                raise
        return PipesClientCompletedInvocation(session)
