"""The consent registry over HTTP: record, read, withdraw; receipts and portal codes."""
