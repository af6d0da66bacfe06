"""Security primitives with no knowledge of the domain: passwords, tokens."""
