#!/usr/bin/env python3
"""M4 Hourly CSVs -> tab-separated long tables for COPY: id, step index, value.

Usage: m4_to_long.py DATA_DIR OUT_DIR.  Writes train.tsv (id, i, v) and
test.tsv (id, step, v), i counted from 1.
"""
import csv
import os
import sys

src, out = sys.argv[1], sys.argv[2]
for name, target in (("Hourly-train.csv", "train.tsv"), ("Hourly-test.csv", "test.tsv")):
    with open(os.path.join(src, name), newline="") as f, open(os.path.join(out, target), "w") as o:
        rows = csv.reader(f)
        next(rows)
        for row in rows:
            sid = row[0]
            for i, v in enumerate((c for c in row[1:] if c != ""), start=1):
                o.write(f"{sid}\t{i}\t{v}\n")
