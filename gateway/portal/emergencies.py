"""Emergency access (§ 8a SGB VIII) on the person's pages: how it is told. What is held back
while a data-protection officer has deferred telling it is ``gateway.emergency.disclosure``'s.

Every emergency query about the person shows under "Who asked about me", with its own heading
and a few plain words on why it needed no consent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.web.i18n import N_

# The heading of an emergency query, and what it means, under it.
ASKED = N_("%(recipient)s asked %(provider)s about you in an emergency, to protect a child")
WHY = N_(
    "This did not need your consent. The law (§ 8a SGB VIII) allows the youth welfare office "
    "to ask when a child may be in danger. A data protection officer checks every such request."
)


def is_emergency(body: Mapping[str, Any]) -> bool:
    return bool((body.get("details") or {}).get("emergency"))
