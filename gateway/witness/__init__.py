"""A transparency-log witness (C2SP tlog-witness) anyone can run with this package."""
