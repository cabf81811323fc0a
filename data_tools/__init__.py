"""Source adapters and the embedded demo-corpus generator (run from the repository root)."""
