"""The gateway's own signing keys: kept in the key folder, rotated without downtime."""
