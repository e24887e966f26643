"""``gateway monitoring aggregate``: computes the months that are over, once, with the
configured threshold."""

from __future__ import annotations

from datetime import UTC, datetime

from click.testing import CliRunner

from gateway.cli.main import cli
from gateway.monitoring.periods import Month
from gateway.monitoring.tables import MonitoringMonth
from gateway.runtime import Runtime
from gateway.settings import Settings
from tests.monitoring.history import History


def run(settings: Settings, *args: str, **env: str):
    runner = CliRunner(
        env={
            "GATEWAY_DATABASE_URL": settings.database_url,
            "GATEWAY_KEY_DIR": str(settings.key_dir),
            "GATEWAY_ISSUER": settings.issuer,
            **env,
        }
    )
    return runner.invoke(cli, list(args))


def test_aggregate_computes_every_month_that_is_over_and_then_nothing(
    settings: Settings, runtime: Runtime, march: History
):
    result = run(settings, "monitoring", "aggregate", GATEWAY_MONITORING_MIN_CELL="3")
    assert result.exit_code == 0, result.output
    last = Month.of(datetime.now(UTC)).preceding()
    expected = Month(2025, 3).through(last)
    # Just after a month ends it may not be due yet (it settles for an hour).
    assert result.output.splitlines() in (
        [f"computed {month}" for month in expected],
        [f"computed {month}" for month in expected[:-1]],
    )
    with runtime.database.transaction(read_only=True) as session:
        march_row = session.get(MonitoringMonth, "2025-03")
    assert march_row is not None
    assert march_row.threshold == 3

    again = run(settings, "monitoring", "aggregate")
    assert again.exit_code == 0, again.output
    assert again.output.strip() in ("no month to compute", f"computed {last}")


def test_an_invalid_threshold_is_refused(settings: Settings):
    result = run(settings, "monitoring", "aggregate", GATEWAY_MONITORING_MIN_CELL="1")
    assert result.exit_code != 0
    assert "GATEWAY_MONITORING_MIN_CELL" in result.output
