"""Run one simulator (`onestop.simulators.<name>`) reachable from other containers: compose's staging profile.

The simulators bind 127.0.0.1 (onestop.simulators._server.HOST), which is right for tests and the demo but
unreachable from another container. This launcher sets that host from ONESTOP_SIM_HOST (default 0.0.0.0,
every interface of the simulator's own container) and runs the simulator's main() with the other arguments:

    python /opt/onestop/bin/onestop-simulator igate --port 8000 --seed 42 --count 2000 --district 288
"""

from __future__ import annotations

import importlib
import os
import sys

SIMULATORS = ("igate", "soap_district", "legacy_xml", "feed", "portal")


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in SIMULATORS:
        sys.exit(f"usage: onestop-simulator {{{','.join(SIMULATORS)}}} [simulator options]")
    from onestop.simulators import _server

    _server.HOST = os.environ.get("ONESTOP_SIM_HOST", "0.0.0.0")
    importlib.import_module(f"onestop.simulators.{argv[0]}").main(argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
