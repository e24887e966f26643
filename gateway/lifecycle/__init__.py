"""The lifecycle of personal data: each kind erased when its period runs out (issue 19)."""
