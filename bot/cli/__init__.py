"""The ``newsbot`` command line: the one place that wires the core to the adapters.

Face: ``main`` (the console script's entry point).
"""

from .main import main

__all__ = ["main"]
