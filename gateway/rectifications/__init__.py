"""Rectification notices (Art. 16 GDPR): a person flags information an office passed on about
them as wrong, and the office it came from answers."""
