"""Driver of bench/anomaly: aiml.iforest (through psql) vs scikit-learn's
IsolationForest on the same data; prints times, ratios and ROC AUC."""
import os
import re
import subprocess
import sys
import time

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

PSQL = os.environ["PSQL"]
DATA = os.environ["BENCH_DATA"]
ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
NF = 8
TREES, SAMPLE = 100, 256


def psql(sql, timing=False):
    """Runs SQL; returns its output lines, or (lines, [ms per statement])."""
    script = ("\\timing on\n" if timing else "") + sql
    out = subprocess.run([PSQL, "-X", "-At", "-v", "ON_ERROR_STOP=1"], input=script,
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("psql failed: " + out.stderr)
    lines = out.stdout.splitlines()
    if not timing:
        return lines
    ms = [float(m.group(1)) for m in (re.match(r"Time: ([0-9.]+) ms", l) for l in lines) if m]
    return [l for l in lines if not l.startswith("Time:")], ms


def load_table(name, X, y=None):
    path = os.path.join(DATA, name + ".load.csv")
    cols = np.column_stack([np.arange(len(X)), X] + ([y] if y is not None else []))
    np.savetxt(path, cols, delimiter=",", fmt="%.17g")
    defs = ", ".join(["id int"] + [f"c{j + 1} float8" for j in range(X.shape[1])] +
                     (["label int"] if y is not None else []))
    psql(f"DROP TABLE IF EXISTS {name}; CREATE TABLE {name} ({defs});\n"
         f"\\copy {name} FROM '{path}' WITH (FORMAT csv)\nVACUUM ANALYZE {name};")
    os.unlink(path)


def features_sql(nf):
    return "ARRAY[" + ", ".join(f"c{j + 1}" for j in range(nf)) + "]"


def speed():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(ROWS, NF))
    y = np.zeros(ROWS, dtype=int)
    outliers = rng.choice(ROWS, ROWS // 100, replace=False)
    X[outliers] = rng.uniform(-6, 6, size=(len(outliers), NF))
    y[outliers] = 1
    print(f"data: {ROWS} rows x {NF} float8 columns (1% uniform outliers); "
          f"{TREES} trees, samples of {SAMPLE}, one thread each")
    load_table("bench", X)

    f = features_sql(NF)
    _, ms = psql(f"""
CREATE TABLE model AS SELECT aiml.iforest({f}, '{{"trees": {TREES}, "sample_size": {SAMPLE}}}') AS m FROM bench;
SELECT count(*) FROM bench WHERE aiml.anomaly_score((SELECT m FROM model), {f}) > 0.5;
SELECT count(*) FROM bench WHERE array_length({f}, 1) > 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SELECT count(*) FROM bench WHERE aiml.anomaly_score((SELECT m FROM model), {f}) > 0.5;
""", timing=True)
    train_pg, score_pg, floor_pg, score_pg_par = ms[0] / 1e3, ms[1] / 1e3, ms[2] / 1e3, ms[5] / 1e3
    scores_pg = np.array([float(v) for v in psql(
        f"COPY (SELECT aiml.anomaly_score((SELECT m FROM model), {f}) FROM bench ORDER BY id) TO STDOUT")])
    size = psql("SELECT pg_column_size(m) FROM model")[0]

    t0 = time.perf_counter()
    clf = IsolationForest(n_estimators=TREES, max_samples=SAMPLE, random_state=42, n_jobs=1).fit(X)
    train_sk = time.perf_counter() - t0
    t0 = time.perf_counter()
    scores_sk = -clf.score_samples(X)
    score_sk = time.perf_counter() - t0

    us = lambda s: s / ROWS * 1e6
    print()
    print(f"{'':34}{'aiml (SQL)':>14}{'scikit-learn':>14}{'ratio':>9}")
    print(f"{'training (s)':34}{train_pg:14.3f}{train_sk:14.3f}{train_sk / train_pg:8.1f}x")
    print(f"{'scoring all rows (s)':34}{score_pg:14.3f}{score_sk:14.3f}{score_sk / score_pg:8.1f}x")
    print(f"{'scoring (us/row)':34}{us(score_pg):14.2f}{us(score_sk):14.2f}{score_sk / score_pg:8.1f}x")
    print(f"{'  SQL floor: ARRAY[8 cols] (us/row)':34}{us(floor_pg):14.2f}")
    print(f"{'  forest only, above floor (us/row)':34}{us(score_pg - floor_pg):14.2f}")
    print(f"{'scoring, 2 parallel workers (us/row)':34}{us(score_pg_par):14.2f}{'':14}{score_sk / score_pg_par:8.1f}x")
    print(f"model: {size} bytes")
    print(f"ROC AUC on the 1% outliers: aiml {roc_auc_score(y, scores_pg):.4f}, "
          f"scikit-learn {roc_auc_score(y, scores_sk):.4f}; "
          f"score correlation {np.corrcoef(scores_pg, scores_sk)[0, 1]:.4f}")


def accuracy():
    names = ["BreastCancer", "PimaIndiansDiabetes", "Ionosphere", "Satellite", "Shuttle"]
    seeds = range(10)
    print()
    print(f"ROC AUC, mean (sd) over {len(seeds)} seeds, {TREES} trees, samples of {SAMPLE}")
    print(f"{'dataset':22}{'rows':>7}{'cols':>6}{'anom%':>7}{'aiml':>16}{'scikit-learn':>16}")
    for name in names:
        path = os.path.join(DATA, name + ".csv")
        if not os.path.exists(path):
            print(f"{name:22} missing")
            continue
        d = np.loadtxt(path, delimiter=",")
        X, y = d[:, :-1], d[:, -1].astype(int)
        table = "ds_" + name.lower()
        load_table(table, X, y)
        f = features_sql(X.shape[1])
        order = [int(v) for v in psql(f"SELECT id FROM {table} ORDER BY id")]
        assert order == list(range(len(X)))
        auc_pg, auc_sk = [], []
        for seed in seeds:
            s = np.array([float(v) for v in psql(
                f"WITH m AS (SELECT aiml.iforest({f}, '{{\"seed\": {seed}}}') m FROM {table}) "
                f"SELECT aiml.anomaly_score(m.m, {f}) FROM {table}, m ORDER BY id")])
            auc_pg.append(roc_auc_score(y, s))
            clf = IsolationForest(n_estimators=TREES, max_samples=min(SAMPLE, len(X)),
                                  random_state=seed).fit(X)
            auc_sk.append(roc_auc_score(y, -clf.score_samples(X)))
        print(f"{name:22}{len(X):7}{X.shape[1]:6}{100 * y.mean():6.1f}%"
              f"{np.mean(auc_pg):10.3f} ({np.std(auc_pg):.3f}){np.mean(auc_sk):10.3f} ({np.std(auc_sk):.3f})")


speed()
if os.environ.get("BENCH_ACCURACY", "1") != "0":
    accuracy()
