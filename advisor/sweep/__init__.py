"""What-if sweeps: a scenarios file answered over a base estate or portfolio, on an engine (advisor.engines)."""
