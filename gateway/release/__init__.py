"""Where data leaves the gateway: every release (a query's answer, a message accepted for an
inbox, a message fetched from it) is decided, locked, decided again, entered in the release
ledger and audited by ``core``; what a withdrawal sets off is in ``withdrawal``."""
