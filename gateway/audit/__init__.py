"""The tamper-evident audit log: entries, an RFC 6962 Merkle tree over them, signed checkpoints."""
