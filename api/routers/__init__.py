"""One router per resource, mounted under /v1 (meta routes at the root)."""
