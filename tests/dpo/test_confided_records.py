"""The DPO pages' records of processing name the data a flow carries that was confided to the
youth welfare office (§ 65 SGB VIII), and the rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.settings import Settings
from tests.support import CONFIDED_CITATION, CONFIDED_FLOW, confided_policies


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"policy_dir": confided_policies(tmp_path / "policies")})


def test_the_records_page_names_the_confided_data_and_its_rule(signed_in):
    html = signed_in.get("/dpo/records").text
    (marked,) = [section for section in html.split("<section ")[1:] if "Confided data" in section]
    assert f"reference/{CONFIDED_FLOW}" in marked
    assert "youth welfare support: only with the consent of the person who confided it" in marked
    assert f'<code dir="ltr">{CONFIDED_CITATION}</code>' in marked


def test_the_records_page_says_it_in_german_too(signed_in):
    html = signed_in.get("/dpo/records", params={"lang": "de"}).text
    assert "Anvertraute Daten" in html
    assert "nur mit Einwilligung der Person, die sie anvertraut hat" in html
