"""SHA-256d mining core testbench."""
