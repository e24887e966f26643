"""Requests about one person a DPO acts on: restriction (Art. 18 GDPR), legal hold and
erasure (Art. 17 GDPR)."""
