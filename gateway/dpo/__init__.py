"""The data-protection officers' pages: audit search, integrity, overview, reports."""
