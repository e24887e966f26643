"""Demo mode: four agencies of one city with keys on disk, for trying the gateway out."""
