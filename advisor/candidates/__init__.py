"""Candidate generators, one per AWS service (see registry.py)."""
