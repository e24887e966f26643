"""Messages between agencies: pushes released like queries (``gateway.release``), encrypted at
rest, held in the recipient's inbox until acknowledged, withheld when their consent is
withdrawn."""
