"""Block verification environments (one package per block)."""
