"""Tests may only talk to this machine: pytest-socket blocks every other address before a packet leaves."""

import socket

import pytest
from pytest_socket import SocketConnectBlockedError


def test_connections_off_localhost_are_blocked() -> None:
    # 0.0.0.0 is not on the allow-list; were the guard missing, this would reach loopback (never the network)
    # and fail with ConnectionRefusedError instead of the guard's error.
    with pytest.raises(SocketConnectBlockedError), socket.create_connection(("0.0.0.0", 9), timeout=1):
        pass


def test_loopback_is_allowed() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    try:
        with socket.create_connection(server.getsockname(), timeout=1):
            pass
    finally:
        server.close()
