"""Portfolio optimizer: many workloads, shared constraints and shared capacity, one CP-SAT model."""
