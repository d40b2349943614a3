"""``/metrics``: Prometheus text exposition, read from the state db at each scrape.

One registry per app (no global state shared between servers or tests), holding one
collector. Cycle records are trimmed after 20,000 (maintenance), so cycles by rung and their
durations are tallied here, each cycle once, from what the table held when the server
started; the rest are sums over runs and tasks, which are never trimmed.
"""
from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from shiftctl.admin import launchers
from shiftctl.admin.config import Config
from shiftctl.admin.paths import Paths
from shiftctl.admin.serve.views import reading
from shiftctl.memory.store import ISSUE_STATES, TASK_STATES, Store

BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class CycleTally:
    """Cycles by rung and a histogram of their durations, counted once each."""

    def __init__(self) -> None:
        self.last = 0
        self.rungs: Counter[str] = Counter()
        self.buckets = [0] * len(BUCKETS)
        self.count = 0
        self.total = 0.0

    def update(self, store: Store) -> None:
        top = store.conn.execute("SELECT COALESCE(MAX(number), 0) FROM cycles").fetchone()[0]
        if top < self.last:  # a new state db (.shiftctl/ was recreated): count on from there
            self.last = 0
        rows = store.conn.execute(
            "SELECT number, rung, started_at, ended_at FROM cycles "
            "WHERE number > ? AND ended_at IS NOT NULL ORDER BY number", (self.last,))
        for number, rung, started, ended in rows:
            self.last = number
            self.rungs[rung or "unknown"] += 1
            took = max(0.0, float(ended) - float(started))
            self.count += 1
            self.total += took
            for i, bound in enumerate(BUCKETS):
                if took <= bound:
                    self.buckets[i] += 1

    def families(self) -> Iterator[Metric]:
        rungs = CounterMetricFamily("shiftctl_cycles", "Admin cycles, by the rung that acted",
                                    labels=["rung"])
        for rung, n in sorted(self.rungs.items()):
            rungs.add_metric([rung], n)
        yield rungs
        hist = HistogramMetricFamily("shiftctl_cycle_duration_seconds",
                                     "Wall time of each admin cycle")
        hist.add_metric([], [(repr(b), n) for b, n in zip(BUCKETS, self.buckets, strict=True)]
                        + [("+Inf", self.count)], self.total)
        yield hist


def _by(store: Store, sql: str, states: tuple[str, ...] = ()) -> dict[str, int]:
    counts = dict.fromkeys(states, 0)
    counts.update({str(k): int(v) for k, v in store.conn.execute(sql)})
    return counts


class StoreCollector(Collector):
    """Reads the store on each scrape (read-only, a few aggregate queries)."""

    def __init__(self, config: Config, webhooks: Counter[str]) -> None:
        self.config = config
        self.paths = Paths(config.root)
        self.webhooks = webhooks
        self.tally = CycleTally()
        self._lock = threading.Lock()  # scrapes may overlap; the tally counts each cycle once

    def collect(self) -> Iterator[Metric]:
        hooks = CounterMetricFamily("shiftctl_webhooks", "GitHub webhook deliveries, by what "
                                    "this server did with them", labels=["result"])
        for result, n in sorted(self.webhooks.items()):
            hooks.add_metric([result], n)
        yield hooks
        with reading(self.paths) as store:
            yield GaugeMetricFamily("shiftctl_state_readable", "1 when the state db could be "
                                    "read (0 before a first cycle)", value=int(store is not None))
            if store is None:
                return
            with self._lock:
                self.tally.update(store)
                yield from self.tally.families()
            yield from self._state(store)

    def _state(self, store: Store) -> Iterator[Metric]:
        for name, help_text, table, states in (
                ("shiftctl_tasks", "Tasks, by state", "tasks", TASK_STATES),
                ("shiftctl_issues", "Issues, by state", "issues", ISSUE_STATES)):
            family = GaugeMetricFamily(name, help_text, labels=["state"])
            for state, n in _by(store, f"SELECT state, COUNT(*) FROM {table} GROUP BY state",
                                states).items():
                family.add_metric([state], n)
            yield family
        runs = CounterMetricFamily("shiftctl_runs", "Finished runs, by kind and outcome",
                                   labels=["kind", "outcome"])
        cost = CounterMetricFamily("shiftctl_cost_usd", "Agent-reported cost of finished "
                                   "runs, in US dollars", labels=["kind"])
        tokens = CounterMetricFamily("shiftctl_tokens", "Agent-reported tokens of finished "
                                     "runs", labels=["kind", "direction"])
        for kind, outcome, n in store.conn.execute(
                "SELECT kind, COALESCE(outcome, 'none'), COUNT(*) FROM runs "
                "WHERE ended_at IS NOT NULL GROUP BY kind, outcome ORDER BY kind, outcome"):
            runs.add_metric([kind, outcome], n)
        for kind, usd, t_in, t_out in store.conn.execute(
                "SELECT kind, SUM(cost_usd), SUM(tokens_in), SUM(tokens_out) FROM runs "
                "WHERE ended_at IS NOT NULL GROUP BY kind ORDER BY kind"):
            cost.add_metric([kind], float(usd or 0))
            tokens.add_metric([kind, "in"], int(t_in or 0))
            tokens.add_metric([kind, "out"], int(t_out or 0))
        yield from (runs, cost, tokens)
        workers = GaugeMetricFamily("shiftctl_workers_running", "Workers alive now (local or "
                                    "on a worker host, as the run's launcher sees them), by "
                                    "run kind", labels=["kind"])
        alive: Counter[str] = Counter({"work": 0})
        now = time.time()
        launcher_of = launchers.Picker(self.config, self.paths)
        for run in store.open_runs():
            seen = launcher_of(run).probe(run, now)
            alive[run.kind] += int(seen.alive)
        for kind, n in sorted(alive.items()):
            workers.add_metric([kind], n)
        yield workers
        wakes = CounterMetricFamily("shiftctl_wakes", "Cycles started, by why the loop woke",
                                    labels=["reason"])
        for reason, n in sorted(store.wakes().items()):
            wakes.add_metric([reason], n)
        yield wakes
        yield GaugeMetricFamily("shiftctl_kill_switch", "1 while the kill switch is on",
                                value=int(self.paths.stop.exists()))
        yield from _quota(store.get("tracker_rate"))


def _quota(raw: str | None) -> Iterator[Metric]:
    try:
        rate: Any = json.loads(raw) if raw else None
    except ValueError:
        rate = None
    if not isinstance(rate, dict):
        return
    for key, name, help_text in (
            ("remaining", "shiftctl_tracker_quota_remaining",
             "Tracker requests left in the current rate-limit window"),
            ("limit", "shiftctl_tracker_quota_limit", "The tracker's requests per window")):
        value = rate.get(key)
        if isinstance(value, (int, float)):
            yield GaugeMetricFamily(name, help_text, value=value)


def registry(config: Config, webhooks: Counter[str]) -> CollectorRegistry:
    """A registry of its own for one app: nothing global, nothing shared between tests."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(StoreCollector(config, webhooks))
    return reg
