"""OR-Tools models over candidates: choose one per workload, pack, commit; every solve is time-bounded."""
