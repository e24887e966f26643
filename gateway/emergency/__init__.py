"""Emergency access for child protection (§ 8a SGB VIII): queries without consent, justified,
bounded, reviewed by a DPO after the fact, and shown to the person (late where a DPO defers it)."""
