"""Blocking the network in tests: what the `no_network` fixture (tests/conftest.py) raises,
and the same blocker as source code for tests that start a fresh Python process."""

from __future__ import annotations


class NetworkAttempted(AssertionError):
    pass


BLOCK_SOCKETS = """
import socket

attempts = []

def refuse(name):
    def blocked(*args, **kwargs):
        attempts.append(name)
        raise OSError("network access attempted: " + name)
    return blocked

for name in ("connect", "connect_ex", "sendto"):
    setattr(socket.socket, name, refuse(name))
socket.getaddrinfo = refuse("getaddrinfo")
socket.create_connection = refuse("create_connection")
"""
"""Run first in a fresh process: every outbound socket attempt is refused and its name appended
to the list `attempts`, which the script prints at the end."""
