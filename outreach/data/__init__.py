"""Shipped templates and examples, reachable from an installed package (they are symlinks to
the repository's top-level ``templates/`` and ``examples/`` folders)."""
