"""/healthz: the store's reachability at once, its counts as last counted in the background."""

from __future__ import annotations

import threading
import time

from policykg.graph.config import Settings
from policykg.graph.store import OxigraphStore
from policykg.webapp.app import create_app


class SlowCounts(OxigraphStore):
    """An in-memory store whose count of every triple takes a while (as at 100k records)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(None)
        self.seconds = seconds
        self.counting = threading.Event()

    def query(self, sparql: str, **options: object) -> object:
        if "COUNT(*)" in sparql:
            self.counting.set()
            time.sleep(self.seconds)
        return super().query(sparql, **options)


def test_a_slow_count_does_not_hold_up_the_health_check(tmp_path):
    store = SlowCounts(seconds=3.0)
    client = create_app(Settings(home=str(tmp_path)), store=store).test_client()
    started = time.monotonic()
    first = client.get("/healthz")
    assert first.status_code == 200 and time.monotonic() - started < 2.5
    assert first.json["store"]["reachable"] is True and first.json["counts"] is None
    assert store.counting.is_set()
    time.sleep(3.0)
    later = client.get("/healthz").json
    assert later["counts"] == {"records": 0, "triples": 0} and later["counts_age_s"] < 60


def test_counts_are_ready_at_the_first_check_when_counting_is_quick(tmp_path):
    client = create_app(Settings(home=str(tmp_path)), store=OxigraphStore(None)).test_client()
    assert client.get("/healthz").json["counts"] == {"records": 0, "triples": 0}
