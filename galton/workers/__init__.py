"""galton.workers."""
