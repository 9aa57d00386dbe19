# SPDX-License-Identifier: BSD-3-Clause
"""Cost of an epoch: the FreeNet's FCNN path and a 60 %-dense graph against the MLP.

What is compared
----------------
On scikit-learn's digits (the demo's 70/30 split: 1,257 training rows, 64
features / 16, 10 classes), every model trains ``--epochs`` epochs (default 50)
of mini-batches of 200, no early stop, width 64, in ONE process with interleaved
repeats, once with the cores idle and once with ``os.cpu_count()`` busy loops:

- ``mlp``: ``MLPClassifier(hidden_layer_sizes=(64,), batch_size=200,
  max_iter=epochs, tol=0, n_iter_no_change=epochs)``;
- ``torch``: the same one-hidden-layer network as a bare PyTorch loop
  (``nn.Sequential``, Adam, in-memory tensors): what torch itself costs;
- ``fcnn``: ``FreeNetClassifier(k=64, batch_size=200, max_epochs=epochs,
  n_iter_no_change=np.inf, evolve_rounds=0)``: the empty graph, the classifier's
  default path;
- ``graph60``: the same with a fixed random graph holding 60 % of the possible
  edges (``initial_graph=`` that array).

Reported: seconds per epoch (median fit time / epochs) and the ratios the small
data issue sets as targets: ``fcnn / mlp <= 1.15``, ``graph60 / fcnn <= 1.3``,
and ``predict_proba`` on 200,000 rows ``fcnn / mlp <= 1``. ``--profile`` adds
where an ``fcnn`` fit spends its time (cProfile, the largest entries by own
time), written beside the ratios.

    python benchmarks/bench_epoch.py              # about two minutes
    python benchmarks/bench_epoch.py --profile --out benchmarks/results/epoch.txt
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import harness
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from sklearn_freenets import FreeNetClassifier

OUT = Path(__file__).parent / "results" / "epoch.txt"
WIDTH, BATCH = 64, 200


def digits() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    X_tr, _, y_tr, _ = train_test_split(
        X / 16.0, y, test_size=0.3, stratify=y, random_state=0
    )
    return X_tr.astype(np.float32), y_tr


def graph(k: int, density: float, seed: int = 0) -> np.ndarray:
    """A random strictly lower-triangular graph with ``density`` of the edges."""
    rng = np.random.default_rng(seed)
    lower = np.tril(np.ones((k, k), dtype=bool), -1)
    return lower & (rng.random((k, k)) < density)


def torch_loop(X: np.ndarray, y: np.ndarray, epochs: int) -> None:
    """The one-hidden-layer network trained by a bare torch loop."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(X.shape[1], WIDTH), torch.nn.ReLU(), torch.nn.Linear(WIDTH, 10)
    )
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    loss_fn = torch.nn.CrossEntropyLoss()
    for _ in range(epochs):
        order = torch.randperm(len(Xt))
        for start in range(0, len(Xt), BATCH):
            idx = order[start : start + BATCH]
            opt.zero_grad(set_to_none=True)
            loss_fn(net(Xt[idx]), yt[idx]).backward()
            opt.step()


def models(epochs: int) -> dict[str, Callable[[np.ndarray, np.ndarray], object]]:
    common = dict(
        k=WIDTH,
        batch_size=BATCH,
        max_epochs=epochs,
        n_iter_no_change=np.inf,
        evolve_rounds=0,
        random_state=0,
    )
    return {
        "mlp": lambda X, y: MLPClassifier(
            hidden_layer_sizes=(WIDTH,),
            batch_size=BATCH,
            max_iter=epochs,
            tol=0,
            n_iter_no_change=epochs,
            random_state=0,
        ).fit(X, y),
        "torch": lambda X, y: torch_loop(X, y, epochs),
        "fcnn": lambda X, y: FreeNetClassifier(**common).fit(X, y),
        "graph60": lambda X, y: FreeNetClassifier(
            **common, initial_graph=graph(WIDTH, 0.6)
        ).fit(X, y),
    }


def timed(fit: Callable[[], object]) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        fit()
        return time.perf_counter() - start


def profile_fcnn(X: np.ndarray, y: np.ndarray, epochs: int, top: int = 18) -> str:
    """cProfile of one fcnn fit: the largest entries by own time."""
    fit = models(epochs)["fcnn"]
    prof = cProfile.Profile()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prof.enable()
        fit(X, y)
        prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(top)
    lines = [
        line.rstrip()
        for line in buf.getvalue().splitlines()
        if line.strip() and not line.startswith("   Ordered by")
    ]
    return "\n".join(lines[1:])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--profile", action="store_true")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    X, y = digits()
    fits = models(args.epochs)
    for fit in fits.values():  # imports, numba compilation, torch's first optimizer
        timed(lambda fit=fit: fit(X[:200], y[:200]))
    seconds: dict[tuple[str, str], list[float]] = {}
    for mode in ("idle", "busy"):
        busy = mode == "busy"
        with (
            harness.busy_load(os.cpu_count() or 1) if busy else contextlib.nullcontext()
        ):
            for _ in range(args.repeats):
                for name, fit in fits.items():
                    t = timed(lambda fit=fit: fit(X, y))
                    seconds.setdefault((name, mode), []).append(t)
    per_epoch = {
        key: statistics.median(values) / args.epochs for key, values in seconds.items()
    }
    # predict_proba on 200,000 rows (idle): the fitted fcnn against the MLP
    big = np.repeat(X, -(-200_000 // len(X)), axis=0)[:200_000]
    fitted = {
        "mlp": fits["mlp"](X, y),
        "fcnn": fits["fcnn"](X, y),
    }
    predict = {
        name: statistics.median(
            timed(lambda m=m: m.predict_proba(big)) for _ in range(args.repeats)
        )
        for name, m in fitted.items()
    }
    lines = [
        f"# digits (1,257 x 64), width {WIDTH}, batch {BATCH}, {args.epochs} epochs, "
        f"medians of {args.repeats} interleaved repeats; torch "
        f"{torch.__version__}, {os.cpu_count()} cores",
        f"{'model':10s} {'mode':5s} {'ms/epoch':>9s} {'x mlp':>7s} {'x fcnn':>7s}",
    ]
    for mode in ("idle", "busy"):
        for name in fits:
            t = per_epoch[(name, mode)]
            lines.append(
                f"{name:10s} {mode:5s} {1e3 * t:9.2f} "
                f"{t / per_epoch[('mlp', mode)]:7.2f} "
                f"{t / per_epoch[('fcnn', mode)]:7.2f}"
            )
    ratio_p = predict["fcnn"] / predict["mlp"]
    lines.append(
        f"predict_proba, 200,000 rows (idle): fcnn {predict['fcnn']:.3f} s, "
        f"mlp {predict['mlp']:.3f} s, ratio {ratio_p:.2f}"
    )
    targets = [
        (
            "fcnn epoch / mlp epoch <= 1.15 (idle)",
            per_epoch[("fcnn", "idle")] / per_epoch[("mlp", "idle")],
            1.15,
        ),
        (
            "graph60 epoch / fcnn epoch <= 1.3 (idle)",
            per_epoch[("graph60", "idle")] / per_epoch[("fcnn", "idle")],
            1.3,
        ),
        ("predict_proba fcnn / mlp <= 1 (idle)", ratio_p, 1.0),
    ]
    lines.append("")
    for label, value, limit in targets:
        lines.append(f"{'PASS' if value <= limit else 'FAIL'}: {label}: {value:.2f}")
    if args.profile:
        lines += ["", "# where one fcnn fit spends its time (cProfile, own time)"]
        lines.append(profile_fcnn(X, y, args.epochs))
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
