"""galton.benchmarks."""
