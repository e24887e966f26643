"""Messages between agencies: pushes decided like queries, encrypted at rest, held in the
recipient's inbox until acknowledged, withheld when their consent is withdrawn."""
