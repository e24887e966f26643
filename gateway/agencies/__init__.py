"""The client registry: agencies (with kind and municipality), DPO and monitoring clients."""
