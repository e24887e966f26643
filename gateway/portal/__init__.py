"""The client portal (``/portal/``): a person signs in with the portal code from their consent
receipt, sees their consents in plain words, withdraws them, and sees who asked about them."""
