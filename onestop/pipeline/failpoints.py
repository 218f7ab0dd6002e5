"""Named points in the pipeline where the chaos suite stops a process, to SIGKILL it there or to restart the
database under it (in the spirit of etcd's gofail). Inert unless ONESTOP_PAUSE_AT names the point:

    ONESTOP_PAUSE_AT=after_post ONESTOP_PAUSE_FILE=/tmp/p onestop deliver

On reaching the point the process writes its pid and the point's name to the pause file, then waits for as
long as the file exists: the harness kills it (SIGKILL) or deletes the file to let it go on.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

POINTS = ("after_fetch", "mid_copy", "after_commit", "mid_load", "after_post")


def reached(name: str) -> None:
    if os.environ.get("ONESTOP_PAUSE_AT") != name:
        return
    marker = Path(os.environ["ONESTOP_PAUSE_FILE"])
    marker.write_text(f"{os.getpid()} {name}\n")
    os.environ.pop("ONESTOP_PAUSE_AT")  # once per process
    while marker.exists():
        time.sleep(0.02)
