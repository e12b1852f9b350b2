"""bench/lstm m4: turns the M4 Hourly CSVs into rows aiml can read.

Writes train.csv (series, ts, value; hourly timestamps from an arbitrary
start, since the competition's start dates are not in the data set) and
test.csv (series, step, value) into the directory given.
"""
import csv
import sys
from datetime import datetime, timedelta, timezone


def main():
    src, dst = sys.argv[1], sys.argv[2]
    start = datetime(2017, 1, 1, tzinfo=timezone.utc)
    with open(f"{src}/Hourly-train.csv") as f, open(f"{dst}/train.csv", "w") as out:
        rows = csv.reader(f)
        next(rows)
        for row in rows:
            values = [v for v in row[1:] if v != ""]
            for i, v in enumerate(values):
                ts = (start + timedelta(hours=i)).strftime("%Y-%m-%d %H:%M:%S+00")
                out.write(f"{row[0]},{ts},{v}\n")
    with open(f"{src}/Hourly-test.csv") as f, open(f"{dst}/test.csv", "w") as out:
        rows = csv.reader(f)
        next(rows)
        for row in rows:
            for i, v in enumerate(row[1:]):
                out.write(f"{row[0]},{i + 1},{v}\n")


if __name__ == "__main__":
    main()
