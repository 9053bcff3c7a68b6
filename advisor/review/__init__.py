"""Architecture review: the page and the report people read together (what-if, charts, rendering)."""
