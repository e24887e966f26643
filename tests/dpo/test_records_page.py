"""The records of processing name each field as a person reads it ("may work"), keep the
policy file's technical names in a detail and on hover, and wrap long ids rather than widen a
phone's page; every field the reference policies release has a readable name in every
language."""

from __future__ import annotations

import re

import pytest

from gateway.dpo.fields import field_name
from gateway.policy.service import records_of_processing
from gateway.web.i18n import LANGUAGES, speaking


def test_fields_are_named_readably_with_the_raw_name_on_hover(signed_in):
    html = signed_in.get("/dpo/records").text
    assert '<span title="employment_permitted">may work</span>' in html
    assert '<span title="residence_obligation">where the person must live</span>' in html
    assert '<span title="household_size">persons in the household</span>' in html


def test_the_technical_names_are_kept_in_a_detail(signed_in, runtime):
    html = signed_in.get("/dpo/records").text
    records = records_of_processing(runtime.policies)
    details = re.findall(r"<details>(.*?)</details>", html, re.S)
    assert len(details) == len(records.activities)
    for activity, detail in zip(records.activities, details, strict=True):
        assert "Technical names, as in the policy file" in detail
        assert f'<code dir="ltr">{activity.activity}</code>' in detail
        for category, fields in activity.data.items():
            assert f'<code dir="ltr">{category}</code>' in detail
            for field in fields:
                assert f'<code dir="ltr">{field}</code>' in detail
    # Outside the details, raw field names appear only in the hover titles.
    shown = re.sub(r"<details>.*?</details>", "", html, flags=re.S)
    shown = re.sub(r'title="[^"]*"', "", shown)
    assert "employment_permitted" not in shown
    assert "caseworker_name" not in shown


@pytest.mark.parametrize("code", [code for code in LANGUAGES if code != "en"])
def test_every_released_field_has_a_name_in_every_language(runtime, code):
    records = records_of_processing(runtime.policies)
    with speaking(LANGUAGES[code]):
        for activity in records.activities:
            for category, fields in activity.data.items():
                for field in fields:
                    named = field_name(category, field)
                    assert named != field, (code, category, field)
                    assert "_" not in named, (code, category, field)


def test_an_unknown_field_is_shown_as_it_is():
    assert field_name("residence_status", "shoe_size") == "shoe_size"
    assert field_name("no_such_category", "status") == "status"
