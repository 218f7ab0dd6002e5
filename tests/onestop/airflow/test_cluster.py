"""The Airflow cluster helper's wait for its API server (`make ui`, the console and scheduler tiers)."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from urllib.parse import urlsplit

from onestop.airflow.cluster import AirflowCluster
from tests.connectors.scripted_server import Answering, serving


def test_an_api_server_slow_to_give_its_first_answer_is_waited_for(tmp_path: Path) -> None:
    """An API server that has bound its port but is still starting (on a loaded machine) takes the connection
    and answers late: not ready yet, so the wait goes on. It ended the whole wait with a ReadTimeout (CI: the
    console's second API server)."""
    asked = itertools.count()

    class SlowToStart(Answering):
        def answer(self, body: bytes) -> None:
            if next(asked) == 0:
                # Past the readiness call's own timeout (2 s), unanswered.
                time.sleep(3)
                self.close_connection = True
                return
            self.send(200, {"Content-Type": "application/json"}, b"{}")

    with serving(SlowToStart) as url:
        cluster = AirflowCluster(
            home=tmp_path, metadata_url="postgresql+psycopg://unused", port=urlsplit(url).port
        )
        cluster.wait_ready(timeout=60)
    assert next(asked) >= 2
