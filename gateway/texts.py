"""Free text that agencies and DPOs write into the gateway (a legal reason, why something is
not corrected, a DPO's note): any characters but control characters, line breaks and tabs
excepted. PostgreSQL refuses NUL in text (a 500, not a clear 422), and the others confuse
the pages and terminals that show the text."""

from __future__ import annotations

PLAIN_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
