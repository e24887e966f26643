"""Validations per second of the gateway's schema set (jsonschema-rs, formats asserted).

    python -m benchmarks.validators [--seconds 1.0] [--json]

Cases: each category's first example, a ~1.4 KB list of integration measures (the size issue #5
quotes), and an invalid document, where the gateway also builds its value-free
``{path, message}`` errors. (It no longer runs plain ``jsonschema`` beside it: that was the
comparison that chose jsonschema-rs, and the gateway no longer depends on ``jsonschema``.)
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from gateway.schemas.registry import REFERENCE_SCHEMAS, SchemaSet, load_schemas


def cases(schemas: SchemaSet) -> list[tuple[str, str, Any]]:
    """(name, category, document) for every case measured."""
    found = [
        (category, category, schemas.latest(category).document["examples"][0])
        for category in schemas.categories()
    ]
    measures = schemas.latest("integration_measures").document["examples"]
    pool = [measure for example in measures for measure in example]
    large: list[Any] = []
    while len(json.dumps(large)) < 1400:
        large.append(copy.deepcopy(pool[len(large) % len(pool)]))
    found.append(
        (f"integration_measures ({len(json.dumps(large))} B)", "integration_measures", large)
    )
    invalid = [dict(measure, level="D1", start="2025-02-30") for measure in large]
    found.append(("invalid measures (errors built)", "integration_measures", invalid))
    return found


def rate(function: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``function``, timed in batches for at least ``seconds``."""
    function()  # warm up
    calls, batch = 0, 16
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(batch):
            function()
        calls += batch
        batch = min(batch * 2, 4096)
    return calls / elapsed


def measure(seconds: float) -> list[dict[str, Any]]:
    schemas = load_schemas(REFERENCE_SCHEMAS)
    results = []
    for name, category, document in cases(schemas):
        ours = rate(partial(schemas.validate, category, document), seconds)
        results.append({"case": name, "ops_per_second": ours})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="per case and validator")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    results = measure(options.seconds)
    if options.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'case':<40}{'schema set ops/s':>18}")
    for row in results:
        print(f"{row['case']:<40}{row['ops_per_second']:>18,.0f}")


if __name__ == "__main__":
    main()
