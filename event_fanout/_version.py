"""The package version: its one source (``pyproject.toml`` reads it from here).

Kept out of ``__init__.py``, which ships in the consumers' runtime layer: a release that only
bumps the version then leaves the layer's content, its asset hash, and every consumer function
in users' templates unchanged.
"""

__version__ = "0.2.0"
