#!/usr/bin/env python3
"""Writes the demo's and tests' sample data into test/data/ (deterministic).

model_metrics.csv: hourly resource usage of three deployed models over four
weeks (daily and weekly seasonality, a slow trend, noise), with a handful of
injected incidents listed in incidents.csv so tests and the demo can check
that detectors find them.
"""
import csv
import math
import os
import random
from datetime import datetime, timedelta, timezone

here = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(20261122)
start = datetime(2026, 10, 1, tzinfo=timezone.utc)
hours = 28 * 24

endpoints = {
    # name: (base requests/h, base latency ms, base cpu %, memory %)
    "fraud-scorer": (1200, 35.0, 38.0, 52.0),
    "churn-model": (300, 120.0, 22.0, 61.0),
    "support-llm": (80, 900.0, 71.0, 83.0),
}
incidents = [
    ("fraud-scorer", 200, "latency spike", "latency_ms", 6.0),
    ("fraud-scorer", 455, "cpu saturation", "cpu", 2.3),
    ("churn-model", 330, "traffic drop", "requests", 0.05),
    ("support-llm", 120, "memory leak peak", "memory", 1.18),
    ("support-llm", 600, "latency spike", "latency_ms", 4.0),
]

with open(os.path.join(here, "model_metrics.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["endpoint", "ts", "requests", "latency_ms", "cpu", "memory"])
    for name, (req, lat, cpu, mem) in endpoints.items():
        for h in range(hours):
            ts = start + timedelta(hours=h)
            daily = 1 + 0.45 * math.sin(2 * math.pi * (h % 24 - 8) / 24)
            weekly = 0.8 if ts.weekday() >= 5 else 1.0
            trend = 1 + 0.004 * h / 24
            r = req * daily * weekly * trend * rng.lognormvariate(0, 0.06)
            load = r / (req * trend)
            values = {
                "requests": r,
                "latency_ms": lat * (0.8 + 0.25 * load) * rng.lognormvariate(0, 0.05),
                "cpu": min(100.0, cpu * (0.6 + 0.45 * load) + rng.gauss(0, 1.5)),
                "memory": min(100.0, mem + 2 * math.sin(2 * math.pi * h / 24) + rng.gauss(0, 0.8)),
            }
            for ep, hour, _, metric, factor in incidents:
                if ep == name and hour == h:
                    values[metric] = min(100.0, values[metric] * factor) if metric in ("cpu", "memory") \
                        else values[metric] * factor
            w.writerow([name, ts.strftime("%Y-%m-%d %H:%M:%S+00"), round(values["requests"]),
                        round(values["latency_ms"], 2), round(values["cpu"], 2),
                        round(values["memory"], 2)])

with open(os.path.join(here, "incidents.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["endpoint", "ts", "what", "metric"])
    for ep, hour, what, metric, _ in incidents:
        w.writerow([ep, (start + timedelta(hours=hour)).strftime("%Y-%m-%d %H:%M:%S+00"), what, metric])
