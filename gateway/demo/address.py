"""Where the demo gateway listens, kept in the demo folder so the demo's other commands
(``gateway demo token``, ``gateway demo url``, the story) find it on whatever port it took."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gateway.settings import Settings

_FILE = "gateway-url"


def remember(demo_dir: Path, url: str) -> None:
    (demo_dir / _FILE).write_text(url + "\n", encoding="utf-8")


def demo_settings(
    gateway_url: str | None = None, load: Callable[..., Settings] = Settings
) -> Settings:
    """Settings for a demo command: the gateway named on its command line, else the one
    ``GATEWAY_ISSUER`` names, else the one the demo gateway last started in this folder
    (``load`` makes settings: the command line's loader ends in one line on a bad one)."""
    if gateway_url:
        return load(issuer=gateway_url)
    settings = load()
    if "issuer" in settings.model_fields_set:
        return settings
    kept = settings.demo_dir / _FILE
    if kept.is_file():
        return load(issuer=kept.read_text(encoding="utf-8").strip())
    return settings
