"""Integration monitoring: indicators of coordinated case management, without personal data."""
