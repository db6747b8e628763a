"""The worker processes that prepare batches: stopping them never hangs a load."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from policykg.graph.loading import workers as parallel
from policykg.graph.loading.workers import Preparers, WorkerLost

BIG = 4_000_000  # characters: a result many times the size of a pipe's buffer


def _slow_big_batch(jobs: list) -> str:
    """Stands for preparing a batch: says it started (a file), works a moment, then returns a
    result larger than a pipe holds."""
    started, seconds = jobs
    Path(started).touch()
    time.sleep(seconds)
    return "x" * BIG


def test_stopping_the_workers_lets_the_batch_in_hand_finish(monkeypatch, tmp_path):
    """A load that stops on an error (the store gone) stops its workers while one may be
    sending a prepared batch back. Terminating it then could leave it dead holding the results
    queue's lock, on which multiprocessing's own shutdown waits for ever: the load hung instead
    of reporting what it wrote (seen once in CI's fault test). So a worker is never terminated:
    stopping waits for the batch it is preparing, and returns."""
    monkeypatch.setattr(parallel, "_prepare", _slow_big_batch)  # the forked worker sees it
    started = tmp_path / "started"
    preparers = Preparers("context", workers=1)  # type: ignore[arg-type]
    pending = preparers.submit([str(started), 0.3])  # type: ignore[list-item]
    while not started.exists():
        time.sleep(0.001)
    stopper = threading.Thread(target=preparers.close, daemon=True)
    stopper.start()
    stopper.join(30)
    assert not stopper.is_alive(), "stopping the workers hung"
    assert pending.ready() and len(pending()) == BIG


def _batch_that_waits(jobs: list) -> str:
    """Stands for a long batch: writes the worker's process id to a file, then waits."""
    started, seconds = jobs
    Path(started).write_text(str(os.getpid()))
    time.sleep(seconds)
    return "done"


def test_a_worker_that_dies_with_a_batch_stops_the_wait_with_an_error(monkeypatch, tmp_path):
    """A worker killed from outside (the kernel's out-of-memory killer, say) never sends its
    batch back, and the pool quietly starts another: waiting on that batch raises WorkerLost
    within seconds, and stopping the workers still returns."""
    monkeypatch.setattr(parallel, "_prepare", _batch_that_waits)
    started = tmp_path / "started"
    preparers = Preparers("context", workers=1)  # type: ignore[arg-type]
    pending = preparers.submit([str(started), 600])  # type: ignore[list-item]
    while not started.exists() or not started.read_text():
        time.sleep(0.001)
    os.kill(int(started.read_text()), signal.SIGKILL)
    with pytest.raises(WorkerLost, match="died"):
        pending()
    stopper = threading.Thread(target=preparers.close, daemon=True)
    stopper.start()
    stopper.join(30)
    assert not stopper.is_alive(), "stopping the workers hung"
