"""An audit entry's details as a DPO reads them: the keys the gateway records most by their
names, yes or no for a truth value, an agency by its name. The raw key stays on hover, and the
recorded entry below the table shows every byte as it is."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gateway.web.i18n import N_, gettext

_KEYS = {
    "totp": N_("with one-time codes"),
    "locked": N_("sign-in locked"),
    "format": N_("file format"),
    "agency": N_("agency"),
    "user": N_("DPO user"),
    "records": N_("records"),
    "whole": N_("the whole consent"),
    "grants": N_("permissions"),
    "grants_withdrawn": N_("permissions withdrawn"),
    "channel": N_("channel"),
    "municipality": N_("municipality"),
    "from": N_("first month"),
    "to": N_("last month"),
    "month": N_("month"),
    "entries": N_("entries"),
    "checkpoints": N_("checkpoints"),
    "intact": N_("intact"),
    "problems": N_("problems found"),
    "exchanges": N_("exchanges"),
    "valid_until": N_("valid until"),
}
_YES, _NO = N_("yes"), N_("no")


@dataclass(frozen=True)
class Detail:
    key: str  # as recorded
    label: str  # in the page's language, or the key itself when it has no name
    value: str
    named: bool  # whether the key has a name (an unnamed one is shown as code)


def shown(details: Mapping[str, object] | None, agencies: Mapping[str, str]) -> list[Detail]:
    """The details in the language of the page being rendered, in their recorded order."""
    found = []
    for key, value in (details or {}).items():
        label = _KEYS.get(key)
        found.append(Detail(key, gettext(label) if label else key, _value(key, value, agencies),
                            label is not None))  # fmt: skip
    return found


def _value(key: str, value: object, agencies: Mapping[str, str]) -> str:
    if isinstance(value, bool):
        return gettext(_YES if value else _NO)
    if key == "agency" and isinstance(value, str):
        return agencies.get(value, value)
    return str(value)
