"""The six steps, one module each."""
