"""Run as ``python -m tests.witness.hammer FOLDER``: submit ever larger checkpoints of the
seeded test log to the witness in FOLDER, straight through its store, and print each size the
witness answered 200 for. The kill -9 test kills it at random moments."""

from __future__ import annotations

import random
import sys
from pathlib import Path

from gateway.witness.keys import load_cosigner
from gateway.witness.service import Witness
from gateway.witness.store import WitnessStore
from tests.witness.logs import MemoryLog

SEED = b"the hammered log"


def main(folder: Path) -> None:
    log = MemoryLog.seeded(SEED)
    witness = Witness(load_cosigner(folder), WitnessStore.in_folder(folder))
    while True:
        latest = witness.store.latest(log.origin)
        old = latest.size if latest else 0
        size = old + random.randint(1, 4)  # noqa: S311 (test sizes, not secrets)
        answer = witness.add_checkpoint(log.body(old, size))
        if answer.status != 200:
            raise SystemExit(f"refused: {answer.status}")
        print(size, flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
