#!/usr/bin/env python3
"""Writes test/data/access.log and test/data/tickets.txt (deterministic).

access.log: 2,000 lines of an nginx/Apache "combined" access log for the
model endpoints of model_metrics over one day, with a burst of 5xx errors
from support-llm; a few lines are malformed on purpose (a scanner's junk
request, a truncated line), as in real logs.

tickets.txt: 300 support tickets as key=value lines, with quoted values.
"""
import os
import random
from datetime import datetime, timedelta, timezone

here = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(20261123)
start = datetime(2026, 10, 15, tzinfo=timezone.utc)

endpoints = ["fraud-scorer", "churn-model", "support-llm"]
agents = ["python-requests/2.31", "curl/8.4.0",
          "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0", "Go-http-client/1.1"]
users = ["-", "svc-batch", "alice", "bob"]

with open(os.path.join(here, "access.log"), "w") as f:
    for i in range(2000):
        ts = start + timedelta(seconds=i * 43 + rng.randint(0, 40))
        ep = rng.choice(endpoints)
        status = rng.choice([200] * 18 + [400, 429])
        if ep == "support-llm" and 1100 <= i < 1160:
            status = rng.choice([500, 502, 503, 200])
        ip = "10.%d.%d.%d" % (rng.randint(0, 3), rng.randint(0, 255), rng.randint(1, 254))
        size = rng.randint(200, 5000) if status == 200 else rng.randint(50, 200)
        method = "POST" if rng.random() < 0.8 else "GET"
        path = "/v1/models/%s/%s" % (ep, "predict" if method == "POST" else "health")
        line = '%s - %s [%s] "%s %s HTTP/1.1" %d %d "-" "%s"' % (
            ip, rng.choice(users), ts.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            method, path, status, size, rng.choice(agents))
        if i == 700:
            line = '203.0.113.9 - - [%s] "\\x16\\x03\\x01" 400 0 "-" "-"' % ts.strftime("%d/%b/%Y:%H:%M:%S +0000")
        if i == 1500:
            line = line[:40]
        f.write(line + "\n")

with open(os.path.join(here, "tickets.txt"), "w") as f:
    for i in range(300):
        ep = rng.choice(endpoints)
        prio = rng.choice(["low", "low", "medium", "high"])
        subject = rng.choice(["slow responses", "wrong prediction", "timeout, retried twice",
                              "quota exceeded", 'says "model not found"'])
        subject = subject.replace('"', '\\"')
        f.write('id=%d priority=%s endpoint=%s customer="Customer %d" subject="%s" minutes_open: %d\n'
                % (1000 + i, prio, ep, rng.randint(1, 60), subject, rng.randint(1, 2000)))
