"""What the `no_network` fixture (tests/conftest.py) raises on any outbound attempt."""

from __future__ import annotations


class NetworkAttempted(AssertionError):
    pass
