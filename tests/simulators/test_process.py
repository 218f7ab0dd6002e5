"""The process contract: READY line, clean exit on SIGTERM/SIGINT, a clear error when start-up fails."""

from __future__ import annotations

import signal

import pytest
import requests

from onestop.simulators.process import start_simulator


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_end_the_process_with_code_0(sig: signal.Signals) -> None:
    sim = start_simulator("igate", "--count", "10")
    try:
        assert sim.url.startswith("http://127.0.0.1:")
        assert requests.get(f"{sim.url}/health", timeout=10).json() == {"ok": True}
        sim.proc.send_signal(sig)
        assert sim.proc.wait(timeout=10) == 0
    finally:
        sim.stop()


def test_a_failed_start_says_why() -> None:
    with pytest.raises(
        RuntimeError, match=r"exited with code 2 before READY[\s\S]*unknown Hải Dương district"
    ):
        start_simulator("igate", "--district", "101")
    with pytest.raises(RuntimeError, match="--state"):
        start_simulator("portal")
