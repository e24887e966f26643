"""Run as ``python -m tests.witness.hammer FOLDER [COUNT [GO]]``: submit ever larger
checkpoints of the seeded test log to the witness in FOLDER, straight through its store, and
print each size the witness answered 200 for (COUNT of them, or until killed), starting once
the file GO exists (so that several start together). A 409 (another process got ahead) sends
it back to read the recorded size. The kill -9 and two-process tests run it."""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

from gateway.witness.keys import load_cosigner
from gateway.witness.service import Witness
from gateway.witness.store import WitnessStore
from tests.witness.logs import MemoryLog

SEED = b"the hammered log"


def main(folder: Path, count: int | None, go: Path | None) -> None:
    log = MemoryLog.seeded(SEED)
    log.root(4 * (count or 0))  # the tree built before the start, not during the race
    witness = Witness(load_cosigner(folder), WitnessStore.in_folder(folder))
    while go is not None and not go.exists():
        time.sleep(0.001)
    cosigned = 0
    while count is None or cosigned < count:
        latest = witness.store.latest(log.origin)
        old = latest.size if latest else 0
        size = old + random.randint(1, 4)  # noqa: S311 (test sizes, not secrets)
        answer = witness.add_checkpoint(log.body(old, size))
        if answer.status == 409:
            continue
        if answer.status != 200:
            raise SystemExit(f"refused: {answer.status}")
        print(size, flush=True)
        cosigned += 1


if __name__ == "__main__":
    arguments = sys.argv[1:]
    main(
        Path(arguments[0]),
        int(arguments[1]) if len(arguments) > 1 else None,
        Path(arguments[2]) if len(arguments) > 2 else None,
    )
