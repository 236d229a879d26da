"""SHA-256 compression core testbench."""
