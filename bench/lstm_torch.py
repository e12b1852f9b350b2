"""PyTorch side of bench/lstm: trains the same network on the same windows.

Reads the series from a CSV (ts, value), splits it exactly as aiml.lstm_train
does (the last `validation` fraction of windows held out, with the
horizon - 1 windows before them dropped, scaling fitted on the rest), trains
an nn.LSTM + nn.Linear with Adam, global-norm clipping and shuffled
mini-batches, and prints one line: seconds per epoch and the best epoch's
validation RMSE in standardized units.
"""
import json
import math
import sys
import time

import numpy as np
import torch


def main():
    csv, opts = sys.argv[1], json.loads(sys.argv[2])
    torch.set_num_threads(opts["threads"])
    torch.manual_seed(opts["seed"])
    rng = np.random.default_rng(opts["seed"])
    values = np.loadtxt(csv, delimiter=",", usecols=1)
    w, k = opts["window"], opts["horizon"]

    nwin = len(values) - w - k + 1
    nval = int(math.floor(opts["validation"] * nwin))
    ntrain = nwin - nval - (k - 1 if nval > 0 else 0)
    end = ntrain - 1 + w + k
    mean, std = values[:end].mean(), values[:end].std()
    z = ((values - mean) / std).astype(np.float32)
    idx = np.arange(w)[None, :] + np.arange(nwin)[:, None]
    x = torch.from_numpy(z[idx][:, :, None].copy())
    y = torch.from_numpy(z[np.arange(k)[None, :] + np.arange(nwin)[:, None] + w].copy())
    xt, yt = x[:ntrain], y[:ntrain]
    xv, yv = x[nwin - nval:], y[nwin - nval:]

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(1, opts["hidden"], opts["layers"], batch_first=True)
            self.head = torch.nn.Linear(opts["hidden"], k)

        def forward(self, inp):
            out, _ = self.lstm(inp)
            return self.head(out[:, -1, :])

    net = Net()
    adam = torch.optim.Adam(net.parameters(), lr=opts["learning_rate"])
    loss_fn = torch.nn.MSELoss()
    best, b = math.inf, opts["batch"]
    start = time.perf_counter()
    for _ in range(opts["epochs"]):
        net.train()
        order = torch.from_numpy(rng.permutation(ntrain))
        for first in range(0, ntrain, b):
            sel = order[first:first + b]
            adam.zero_grad()
            loss = loss_fn(net(xt[sel]), yt[sel])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), opts["clip"])
            adam.step()
        net.eval()
        with torch.no_grad():
            mse = sum(float(loss_fn(net(xv[i:i + b]), yv[i:i + b])) * len(xv[i:i + b])
                      for i in range(0, nval, b)) / nval
        best = min(best, mse)
    per_epoch = (time.perf_counter() - start) / opts["epochs"]
    print(f"{per_epoch:.6f} {math.sqrt(best):.6f} {ntrain} {nval}")


if __name__ == "__main__":
    main()
