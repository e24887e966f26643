"""The witness's state under a kill -9 and under racing submitters: never torn, never rolled
back, and every cosignature it answered with verifies."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from gateway.audit.cosignatures import Cosigner, WitnessPolicy, split_note, with_cosignatures
from gateway.audit.notes import verify_checkpoint
from gateway.witness.routes import create_witness_app
from gateway.witness.service import Witness
from gateway.witness.store import WitnessStore
from tests.support import serve_app
from tests.witness import hammer
from tests.witness.logs import MemoryLog, cosignature_time

ROOT = Path(__file__).resolve().parents[2]


def test_a_kill_9_at_any_moment_leaves_the_last_acknowledged_state_or_a_newer_one(
    tmp_path: Path, cosigner: Cosigner, policy: WitnessPolicy
):
    folder = tmp_path / "witness"
    log = MemoryLog.seeded(hammer.SEED)
    WitnessStore.in_folder(folder).add_log(log.signer.verifier)
    acknowledged = 0
    rng = random.Random(21)  # noqa: S311 (test moments, not secrets)
    for _ in range(8):
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.witness.hammer", str(folder)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        for _ in range(rng.randint(1, 40)):
            acknowledged = max(acknowledged, int(child.stdout.readline()))
        time.sleep(rng.random() / 50)  # somewhere inside a later update
        os.kill(child.pid, signal.SIGKILL)
        acknowledged = max([acknowledged, *(int(line) for line in child.stdout)])
        child.stdout.close()
        child.wait()
        assert child.returncode == -signal.SIGKILL

        with sqlite3.connect(folder / "witness.sqlite3") as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        latest = WitnessStore.in_folder(folder).latest(log.origin)
        assert latest is not None
        assert latest.size >= acknowledged  # never older than a 200 the killed process got
        assert latest.root == log.root(latest.size)
        assert verify_checkpoint(latest.note, log.signer.verifier).size == latest.size
        assert policy.satisfied_by(latest.note)  # a state that was cosigned, whole
    assert acknowledged > 8


def test_two_processes_racing_through_the_store_never_roll_it_back(
    tmp_path: Path, cosigner: Cosigner, policy: WitnessPolicy
):
    """Each process reads the recorded size and submits a larger tree from it; the other one
    may have moved it in between. The check and the update being one transaction, the loser
    gets a 409, never a cosignature that takes the witness back."""
    folder = tmp_path / "witness"
    log = MemoryLog.seeded(hammer.SEED)
    WitnessStore.in_folder(folder).add_log(log.signer.verifier)
    go = tmp_path / "go"
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.witness.hammer", str(folder), "300", str(go)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    go.touch()  # both start together, so their submissions interleave
    runs = []
    for child in children:
        output, _ = child.communicate()
        assert child.returncode == 0
        sizes = [int(line) for line in output.split()]
        assert len(sizes) == 300
        assert sizes == sorted(sizes)  # each process only ever saw the witness grow
        runs.append(sizes)
    acknowledged = runs[0] + runs[1]
    assert len(set(acknowledged)) == len(acknowledged)  # no size cosigned twice, from two olds
    latest = WitnessStore.in_folder(folder).latest(log.origin)
    assert latest is not None
    assert latest.size == max(acknowledged)
    assert latest.root == log.root(latest.size)
    assert policy.satisfied_by(latest.note)


def test_racing_submitters_never_roll_the_witness_back(
    witness: Witness, log: MemoryLog, cosigner: Cosigner
):
    """Two gateways of one log submit ever larger checkpoints at once over HTTP, each from the
    size the witness tells it on a 409; a reader polls the served checkpoint meanwhile."""
    origin_hash = hashlib.sha256(log.origin.encode()).hexdigest()
    log.root(400)
    cosigned: list[tuple[int, str]] = []
    served: list[int] = []
    done = threading.Event()

    def submitter(seed: int, url: str) -> None:
        rng = random.Random(seed)  # noqa: S311 (test sizes, not secrets)
        old = 0
        with httpx.Client(base_url=url) as http:
            while old < 390:
                size = min(400, old + rng.randint(1, 6))
                response = http.post("/add-checkpoint", content=log.body(old, size))
                if response.status_code == 409:
                    old = int(response.text)  # the other one got ahead: go on from there
                    continue
                assert response.status_code == 200, response.text
                cosigned.append((size, response.text))
                old = size

    def reader(url: str) -> None:
        with httpx.Client(base_url=url) as http:
            while not done.is_set():
                response = http.get(f"/{origin_hash}/checkpoint")
                if response.status_code == 200:
                    served.append(verify_checkpoint(response.text, log.signer.verifier).size)

    with serve_app(create_witness_app(witness)) as url:
        threads = [threading.Thread(target=submitter, args=(seed, url)) for seed in (1, 2)]
        watcher = threading.Thread(target=reader, args=(url,))
        for thread in [*threads, watcher]:
            thread.start()
        for thread in threads:
            thread.join()
        done.set()
        watcher.join()

    assert served == sorted(served)  # the served checkpoint only ever grew
    latest = witness.store.latest(log.origin)
    assert latest is not None
    assert latest.size == max(size for size, _ in cosigned)
    for size, line in cosigned:
        text, _ = split_note(log.note(size))
        cosignature_time(line, text, cosigner.name, cosigner.key.raw)
        assert WitnessPolicy((cosigner.key,), 1).satisfied_by(
            with_cosignatures(log.note(size), [line])
        )
