"""The test side of the fault proxy: starts `python -m onestop.chaos.proxy` as a process and drives its control
API (onestop/chaos/proxy.py describes it). Kept apart so the proxy process needs only the standard library.

    with start_proxy(sim.url) as proxy:
        proxy.set_fault(type="reset", phase="after")
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

from onestop.simulators.process import SimulatorProcess, start_process

if TYPE_CHECKING:
    import requests


class FaultProxy:
    """The test side of a running proxy process: its URLs and the control API."""

    def __init__(self, process: SimulatorProcess) -> None:
        import requests  # here, so the proxy process itself needs only the standard library

        if not process.extra_urls:
            raise ValueError(f"{process!r} did not announce a control URL")
        self.process = process
        self.url = process.url
        self.control_url = process.extra_urls[0]
        self._http: requests.Session = requests.Session()

    def set_fault(self, **spec: Any) -> list[dict[str, Any]]:
        """Replaces the active faults with this one, e.g. set_fault(type="reset", phase="after")."""
        return self._call("POST", "/faults", spec)["faults"]

    def set_faults(self, *specs: dict[str, Any]) -> list[dict[str, Any]]:
        """Replaces the active faults with these; the first that fires on a request wins."""
        return self._call("POST", "/faults", {"faults": list(specs)})["faults"]

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "/faults")["faults"]

    def clear(self) -> None:
        self._call("POST", "/clear")

    def counters(self) -> dict[str, Any]:
        return self._call("GET", "/counters")

    def reset_counters(self) -> None:
        self._call("POST", "/counters/reset")

    def stop(self) -> int | None:
        self._http.close()
        return self.process.stop()

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        answer = self._http.request(method, f"{self.control_url}{path}", json=payload, timeout=10)
        if answer.status_code == 400:
            raise ValueError(f"proxy refused {method} {path}: {answer.json().get('error')}")
        answer.raise_for_status()
        return answer.json()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"FaultProxy(url={self.url!r}, control_url={self.control_url!r}, pid={self.process.proc.pid})"


def start_proxy(
    target_url: str,
    *,
    port: int = 0,
    control_port: int = 0,
    env: dict[str, str] | None = None,
    timeout: float = 30,
) -> FaultProxy:
    """Starts `python -m onestop.chaos.proxy` in front of `target_url` and waits until it is ready."""
    process = start_process(
        "onestop.chaos.proxy",
        *("--target", target_url, "--port", str(port), "--control-port", str(control_port)),
        env=env,
        timeout=timeout,
    )
    return FaultProxy(process)
