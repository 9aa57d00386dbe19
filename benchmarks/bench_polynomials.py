# SPDX-License-Identifier: BSD-3-Clause
"""Learned monomial fits: FreeNet against two-hidden-layer MLPs and the exact network.

What is compared
----------------
The FreeNets paper fits monomials ``y = a x ** N`` (``a`` uniform in ``[-1, 1]``,
``x`` in ``[0, 1]``) with ``k`` squared-ReLU neurons and reports the test MSE of the
FreeNet, averaged over 5 seeds, for ``(N, k)`` in ``(2, 2), (4, 2), (4, 4), (8, 4),
(12, 4), (16, 4), (8, 8), (16, 8), (24, 8), (32, 8)``, against two-hidden-layer MLPs
with the same number of neurons (around ``1e-2`` to ``1e-4``). This script repeats the
experiment and prints the authors' FreeNet MSE beside ours for four models:

- ``freenet``: a plain :class:`~sklearn_freenets.FreeNetRegressor` with
  ``activation="squared_relu"``, ``k`` neurons, the dense initial graph (every edge
  ``j -> i``, ``j < i``: it contains every layered net of ``k`` neurons), no
  FreeEvolve round (``evolve_rounds=0``; with every neuron active on the data
  FreeEvolve has nothing to prune) and the linear skip;
- ``mlp_relu`` and ``mlp_sqrelu``: ``Linear(1, k1) -> act -> Linear(k1, k2) -> act
  -> Linear(k2, 1)`` with ``k1 = ceil(k / 2)``, ``k2 = k - k1`` (ReLU and squared
  ReLU), plain torch modules trained by :func:`train_like_estimator`, the
  estimator's recipe written out in torch;
- ``exact``: :func:`sklearn_freenets.theory.polynomial_freenet`, the exact
  construction, where ``theory.neurons_needed(N) <= k`` (``k`` neurons reach degree
  2, 2, 4, 4, 8, 8, 12, 12, ...); otherwise the table says ``n/a (needs X)``.

Every trained model uses the same recipe, in float64, through skorch: full-batch
training on the 1,000 points, Adam (learning rate ``--lr``, cosine-annealed to
``lr / 1000``) for ``--adam-epochs`` epochs, then L-BFGS (strong Wolfe line search,
20 iterations per epoch) for ``--lbfgs-epochs`` epochs, the weights with
the lowest *training* loss kept, and a data-dependent start: each neuron's bias is
shifted so that its pre-activation is at least 0.1 on the training inputs (a
squared-ReLU neuron that starts dead never gets a gradient), then the output layer is
set to the least-squares fit on the hidden features. The ReLU MLP skips the shift (a
ReLU net with every unit active is affine on the data) and keeps torch's
initialisation with the least-squares output layer. No weight decay. The FreeNet gets
all of it through estimator parameters: ``FreeNetRegressor(..., batch_size=1000,
max_epochs=adam_epochs, n_iter_no_change=np.inf, lr=lr, alpha=0, dtype="float64",
standardize_targets=False, lr_schedule="cosine", polish_epochs=lbfgs_epochs,
init="active", keep_best=True)`` (``n_iter_no_change=np.inf``: exactly
``adam_epochs`` Adam epochs, no stopping criterion; ``standardize_targets=False``:
trained on ``y`` itself, as the MLPs are; ``init="active"`` includes the
least-squares output; ``--start shift`` is not available for it and runs as
``active``, ``--start default`` is ``init="torch"``). The MLPs are not FreeNet
estimators, so :func:`train_like_estimator` trains them with the same steps, in
the same order, as the estimator's training loop takes for those parameters
(Adam steps on the full batch, the cosine rate of ``lr_schedule="cosine"``, the
L-BFGS polish of ``polish_epochs``, the weights of ``keep_best``). The stored MLP
cells were trained by the estimator's own skorch net and callbacks; when this
function replaced them, it gave the same weights bit for bit (three
configurations at the full settings). Only the MLPs' start (``mlp_active_start``,
layer by layer) is their own.

Data, per configuration and seed: ``a ~ U[-1, 1]`` from ``default_rng([seed, N])``
(so the same ``a`` for ``k = 4`` and ``k = 8``), 1,000 training inputs uniform in
``[0, 1]`` from ``default_rng([seed, N, 1])``, no noise; the MSE is measured on a
10,001-point uniform grid of ``[0, 1]``. Weight initialisation uses
``random_state=seed``. The table reports the mean over the seeds and, since failures
are bimodal (a run either finds the polynomial or gets stuck), the median and the
minimum.

How to run
----------
::

    python benchmarks/bench_polynomials.py               # all configs, 5 seeds
    python benchmarks/bench_polynomials.py --quick       # smoke test, ~1 minute
    python benchmarks/bench_polynomials.py --configs 4,4 8,4 --seeds 3
    python benchmarks/bench_polynomials.py --table-only  # print what is done

The run is resumable: each finished cell (configuration x model x seed) is appended
as one line to ``benchmarks/results/polynomials/cells.jsonl`` (JSON Lines keyed by
N, k, model and seed, ``harness.py``; ``--quick`` uses ``polynomials_quick/``) and
skipped next time unless its settings differ (a cell rerun with other settings
replaces it). The
final step prints the Markdown table and writes it to
``benchmarks/results/polynomials.md``. Torch runs with one thread per process
(``--jobs`` processes in parallel); the networks are tiny, so more threads only add
contention.

What counts as a pass
---------------------
The ``exact`` column must be at rounding level (MSE below ``1e-20``) wherever it is
reachable. For the learned fits, a configuration *matches the paper* when our FreeNet
mean MSE is at most the authors' number; the table marks each row, and the count
is printed at the end. Our FreeNet should beat both MLP baselines of the same
size.
"""

from __future__ import annotations

import argparse
import copy
import math
import statistics
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import harness
import numpy as np
import torch
from torch import nn

from sklearn_freenets import FreeNetRegressor, theory

#: (N, neurons) -> the authors' FreeNet test MSE (mean of 5 seeds).
AUTHORS = {
    (2, 2): 2.79e-5,
    (4, 2): 1.06e-4,
    (4, 4): 5.82e-7,
    (8, 4): 4.47e-6,
    (12, 4): 1.10e-5,
    (16, 4): 2.02e-5,
    (8, 8): 9.45e-7,
    (16, 8): 1.26e-5,
    (24, 8): 4.96e-6,
    (32, 8): 3.45e-4,
}
CONFIGS = list(AUTHORS)
TRAINED = ("freenet", "mlp_relu", "mlp_sqrelu")
MODELS = (*TRAINED, "exact")
N_TRAIN = 1000
N_TEST = 10001
ROOT = Path(__file__).resolve().parent / "results"
CELLS = "cells.jsonl"
# The estimators' training recipe for lr_schedule="cosine" and polish_epochs: the
# rate anneals to lr * COSINE_FLOOR, and a polish epoch is one L-BFGS step of
# POLISH_ITER iterations.
COSINE_FLOOR = 1e-3
POLISH_ITER = 20


# --------------------------------------------------------------------------------------
# The MLPs' start (the FreeNet's is the estimator's init="active")
# --------------------------------------------------------------------------------------
@torch.no_grad()
def mlp_active_start(module, X, y, margin=0.1, lstsq=True, shift=True):
    """A data-dependent start for the layered MLP, as ``init="active"`` for a FreeNet.

    Layer by layer, a unit whose smallest pre-activation on the training inputs is
    below ``margin`` gets its bias raised by the difference (a squared-ReLU unit that
    starts dead never gets a gradient); then the output layer is set to the
    least-squares fit of the targets on the last hidden layer, so training starts
    from the best output layer for the initial features.
    """
    H = X
    for layer in module.hidden_layers:
        if shift:
            low = layer(H).min(dim=0).values
            layer.bias += torch.clamp(margin - low, min=0)
        H = module.act(layer(H))
    if lstsq:
        F = torch.cat([H, torch.ones_like(H[:, :1])], dim=1)
        sol = torch.linalg.lstsq(F, y.reshape(len(X), -1), driver="gelsd").solution
        module.out.weight.copy_(sol[:-1].T)
        module.out.bias.copy_(sol[-1])


# --------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------
class SquaredReLU(nn.Module):
    def forward(self, z):
        return torch.relu(z) ** 2


class MLP(nn.Module):
    """``Linear(1, k1) -> act -> Linear(k1, k2) -> act -> Linear(k2, 1)``."""

    def __init__(self, k1=2, k2=2, activation="relu"):
        super().__init__()
        self.hidden_layers = nn.ModuleList(
            [
                nn.Linear(1, k1, dtype=torch.float64),
                nn.Linear(k1, k2, dtype=torch.float64),
            ]
        )
        self.act = nn.ReLU() if activation == "relu" else SquaredReLU()
        self.out = nn.Linear(k2, 1, dtype=torch.float64)

    def forward(self, X):
        h = X
        for layer in self.hidden_layers:
            h = self.act(layer(h))
        return self.out(h)


def fit_freenet(X, y, k, seed, args):
    """The FreeNet, trained with estimator parameters only (no custom callbacks)."""
    reg = FreeNetRegressor(
        k,
        activation="squared_relu",
        initial_graph="dense",
        evolve_rounds=0,
        skip=True,
        max_epochs=args.adam_epochs,
        n_iter_no_change=np.inf,
        batch_size=len(X),
        lr=args.lr,
        alpha=0.0,
        dtype="float64",
        standardize_targets=False,
        lr_schedule="cosine",
        polish_epochs=args.lbfgs_epochs,
        init="torch" if args.start == "default" else "active",
        keep_best=True,
        random_state=seed,
    )
    reg.fit(X, y)
    return reg.predict, reg.n_iter_


def train_like_estimator(module, X, y, lr, adam_epochs, lbfgs_epochs):
    """Train ``module`` on ``(X, y)`` as ``fit_freenet``'s estimator trains its own.

    The steps of ``FreeNetRegressor(batch_size=len(X), max_epochs=adam_epochs,
    n_iter_no_change=np.inf, lr=lr, alpha=0, lr_schedule="cosine",
    polish_epochs=lbfgs_epochs, keep_best=True)``, in its order: one Adam step per
    epoch on the full batch (the loss: the mean squared error) at the epoch's
    cosine rate, from ``lr`` down to ``lr * COSINE_FLOOR``; then
    ``lbfgs_epochs`` L-BFGS steps (strong Wolfe line search, ``POLISH_ITER``
    iterations each); an epoch's loss is that of the weights before its step, and
    at the end the weights with the lowest such loss are restored unless the final
    ones are at least as good. Returns the number of epochs.
    """
    criterion = nn.MSELoss(reduction="none")
    best_loss, best_state = np.inf, None

    def loss():
        return criterion(module(X), y).mean()

    def keep(epoch_loss, before_step):
        nonlocal best_loss, best_state
        if np.isfinite(epoch_loss) and epoch_loss < best_loss:
            best_loss, best_state = epoch_loss, before_step

    module.train()
    adam = torch.optim.Adam(module.parameters(), lr=lr)
    eta_min = lr * COSINE_FLOOR
    rows = float(len(X))
    for epoch in range(adam_epochs):
        t = min(epoch, adam_epochs)
        rate = eta_min + (lr - eta_min) * 0.5 * (
            1.0 + np.cos(np.pi * t / max(adam_epochs, 1))
        )
        for group in adam.param_groups:
            group["lr"] = float(rate)
        before_step = copy.deepcopy(module.state_dict())
        step = {}

        def adam_closure(step=step):
            adam.zero_grad(set_to_none=True)
            step["loss"] = value = loss()
            value.backward()
            return value

        adam.step(adam_closure)
        # the epoch's loss as the estimator records it: the row-weighted mean
        keep(float(step["loss"].detach()) * rows / rows, before_step)
    lbfgs = torch.optim.LBFGS(
        module.parameters(),
        lr=1.0,
        max_iter=POLISH_ITER,
        history_size=50,
        line_search_fn="strong_wolfe",
        tolerance_grad=0.0,
        tolerance_change=0.0,
    )
    losses = []

    def lbfgs_closure():
        lbfgs.zero_grad()
        value = loss()
        value.backward()
        losses.append(float(value.detach()))
        return value

    for _ in range(lbfgs_epochs):
        before_step = copy.deepcopy(module.state_dict())
        evaluations = len(losses)
        lbfgs.step(lbfgs_closure)
        keep(losses[evaluations], before_step)
    if best_state is not None:
        with torch.no_grad():
            final = float(loss())
        if not final <= best_loss:
            module.load_state_dict(best_state)
    return adam_epochs + lbfgs_epochs


def fit_mlp(X, y, k, seed, args, activation):
    """An MLP trained by :func:`train_like_estimator`, from its active start."""
    k1 = -(-k // 2)
    Xt = torch.as_tensor(X, dtype=torch.float64)
    yt = torch.as_tensor(y, dtype=torch.float64).reshape(-1, 1)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = MLP(k1, k - k1, activation)
        if args.start != "default":
            # no shift for the ReLU MLP: with every unit active it is affine
            mlp_active_start(
                module,
                Xt,
                yt,
                lstsq=args.start == "active",
                shift=activation != "relu",
            )
        epochs = train_like_estimator(
            module, Xt, yt, args.lr, args.adam_epochs, args.lbfgs_epochs
        )

    @torch.no_grad()
    def predict(X_new):
        # in blocks of the training batch size, as the estimators' nets predict
        module.eval()
        X_new = torch.as_tensor(X_new, dtype=torch.float64)
        blocks = [module(X_new[i : i + len(X)]) for i in range(0, len(X_new), len(X))]
        return torch.cat(blocks).numpy().reshape(-1)

    return predict, epochs


# --------------------------------------------------------------------------------------
# Cells
# --------------------------------------------------------------------------------------
def cell_data(N, seed):
    a = float(np.random.default_rng([seed, N]).uniform(-1.0, 1.0))
    X = np.random.default_rng([seed, N, 1]).uniform(0.0, 1.0, size=(N_TRAIN, 1))
    X_test = np.linspace(0.0, 1.0, N_TEST).reshape(-1, 1)
    return a, X, a * X[:, 0] ** N, X_test, a * X_test[:, 0] ** N


def settings(args, model):
    """What a cell's result depends on (a stored cell is reused only if equal)."""
    if model == "exact":
        return {"model": model, "n_test": N_TEST}
    extra = {"shift": False} if model == "mlp_relu" else {}
    if model == "freenet":
        # Estimator parameters (lr_schedule, polish_epochs, init, keep_best).
        start = "default" if args.start == "default" else "active"
        return {
            "model": model,
            "n_train": N_TRAIN,
            "n_test": N_TEST,
            "lr": args.lr,
            "adam_epochs": args.adam_epochs,
            "lbfgs_epochs": args.lbfgs_epochs,
            "recipe": "estimator-params-cosine-polish-active-keepbest-v3",
        } | ({} if start == "active" else {"start": start})
    return (
        extra
        | {
            "model": model,
            "n_train": N_TRAIN,
            "n_test": N_TEST,
            "lr": args.lr,
            "adam_epochs": args.adam_epochs,
            "lbfgs_epochs": args.lbfgs_epochs,
            # named when the estimators' trainer ran it; train_like_estimator
            # takes the same steps, so the stored cells stay valid
            "recipe": "freenet-trainer-cosine-polish-activestart-lstsq-keepbest-v3",
        }
        | ({} if args.start == "active" else {"start": args.start})
    )


def cell_key(record):
    """What identifies a cell: (N, k, model, seed)."""
    return record["N"], record["k"], record["settings"]["model"], record["seed"]


def run_cell(job):
    """Train/construct one model on one seed; append and return its JSON record."""
    N, k, model, seed, args, path = job
    torch.set_num_threads(1)
    a, X, y, X_test, y_test = cell_data(N, seed)
    record = {"N": N, "k": k, "seed": seed, "a": a, "settings": settings(args, model)}
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if model == "exact":
            needed = theory.neurons_needed(N)
            record["neurons_needed"] = needed
            if needed > k:
                record["mse"] = None
            else:
                coef = np.zeros(N + 1)
                coef[N] = a
                est = theory.polynomial_freenet(coef, (0.0, 1.0))
                check = theory.check_representation(est, coef, (0.0, 1.0), N_TEST)
                record["max_rel_error"] = check["max_rel_error"]
                record["min_margin"] = check["min_margin"]
                pred = est.predict(X_test)
                record["mse"] = float(np.mean((pred - y_test) ** 2))
        else:
            if model == "freenet":
                predict, epochs = fit_freenet(X, y, k, seed, args)
            else:
                act = "relu" if model == "mlp_relu" else "squared_relu"
                predict, epochs = fit_mlp(X, y, k, seed, args, act)
            record["epochs"] = epochs
            record["train_mse"] = float(np.mean((predict(X) - y) ** 2))
            mse = float(np.mean((predict(X_test) - y_test) ** 2))
            record["mse"] = mse if math.isfinite(mse) else None
    record["warnings"] = sorted({str(w.message)[:200] for w in caught})
    record["seconds"] = time.perf_counter() - start
    harness.append_cell(path, record)
    return record


def load_done(cells, key, expected):
    """The stored cell of ``key`` if it was made with the settings ``expected``."""
    record = cells.get(key)
    return record if record is not None and record.get("settings") == expected else None


# --------------------------------------------------------------------------------------
# Table
# --------------------------------------------------------------------------------------
def fmt(x):
    return "—" if x is None else f"{x:.2e}"


def summarise(values):
    """``mean (median / min)`` of the finished seeds, or a dash."""
    vals = [v for v in values if v is not None]
    if not vals:
        return "—", None
    mean = statistics.fmean(vals)
    text = f"{mean:.2e} ({statistics.median(vals):.1e} / {min(vals):.1e})"
    return text, mean


def table(results, args, configs, seeds):
    lines = [
        "| N | k | authors FreeNet | FreeNet (ours) | MLP ReLU | MLP sq. ReLU "
        "| exact construction | ours <= authors |",
        "|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    matched = 0
    complete = 0
    stored = harness.read_cells(results / CELLS, cell_key)
    for N, k in configs:
        cells = {}
        counts = {}
        for model in MODELS:
            recs = [
                load_done(stored, (N, k, model, s), settings(args, model))
                for s in seeds
            ]
            recs = [r for r in recs if r is not None]
            counts[model] = len(recs)
            cells[model] = recs
        fn_text, fn_mean = summarise([r["mse"] for r in cells["freenet"]])
        relu_text, _ = summarise([r["mse"] for r in cells["mlp_relu"]])
        sq_text, _ = summarise([r["mse"] for r in cells["mlp_sqrelu"]])
        needed = theory.neurons_needed(N)
        if needed > k:
            exact = f"n/a (needs {needed})"
        else:
            exact, _ = summarise([r["mse"] for r in cells["exact"]])
            exact = exact.split(" ")[0] if exact != "—" else exact
        if counts["freenet"] < len(seeds):
            fn_text += f" [{counts['freenet']}/{len(seeds)} seeds]"
            verdict = "…"
        else:
            complete += 1
            ok = fn_mean is not None and fn_mean <= AUTHORS[(N, k)]
            matched += ok
            verdict = "yes" if ok else "no"
        lines.append(
            f"| {N} | {k} | {fmt(AUTHORS[(N, k)])} | {fn_text} | {relu_text} "
            f"| {sq_text} | {exact} | {verdict} |"
        )
    return lines, matched, complete


def recipe_text(args, seeds):
    return (
        f"Test MSE on a {N_TEST}-point grid of [0, 1], mean (median / min) over "
        f"{len(seeds)} seeds; target a x^N, a ~ U[-1, 1], {N_TRAIN} uniform training "
        f"points. Training (all learned models, float64, full batch): Adam lr "
        f"{args.lr:g} cosine-annealed over {args.adam_epochs} epochs, then "
        f"{args.lbfgs_epochs} L-BFGS epochs x {POLISH_ITER} iterations; "
        + {
            "active": "biases shifted so every neuron starts active (not in the "
            "ReLU MLP, which it would make affine) and the output layer fitted by "
            "least squares at the start; ",
            "shift": "biases shifted so every neuron starts active; ",
            "default": "torch's default initialisation; ",
        }[args.start]
        + "best training loss kept. FreeNet, estimator parameters only: "
        "FreeNetRegressor(k, activation='squared_relu', initial_graph='dense', "
        "evolve_rounds=0, skip=True, alpha=0, dtype='float64', batch_size=1000, "
        f"max_epochs={args.adam_epochs}, n_iter_no_change=np.inf, lr={args.lr:g}, "
        "standardize_targets=False, lr_schedule='cosine', "
        f"polish_epochs={args.lbfgs_epochs}, init='active', keep_best=True). "
        "MLPs: two hidden layers of ceil(k/2) and floor(k/2) neurons. "
        "Exact: theory.polynomial_freenet (auto method), only where "
        "theory.neurons_needed(N) <= k. The authors' MLP baselines are reported "
        "at around 1e-2 to 1e-4."
    )


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------
def parse_config(text):
    N, k = (int(v) for v in text.split(","))
    if (N, k) not in AUTHORS:
        raise argparse.ArgumentTypeError(f"unknown configuration N,k = {text}")
    return N, k


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="FreeNet vs MLP on the authors' monomial fits (resumable)."
    )
    parser.add_argument("--quick", action="store_true", help="smoke test: short runs")
    parser.add_argument("--seeds", type=int, default=None, help="seeds (default 5)")
    parser.add_argument(
        "--configs", type=parse_config, nargs="+", default=None, metavar="N,K"
    )
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--lr", type=float, default=1e-2, help="Adam learning rate")
    parser.add_argument("--adam-epochs", type=int, default=None)
    parser.add_argument("--lbfgs-epochs", type=int, default=None)
    parser.add_argument(
        "--start",
        choices=["active", "shift", "default"],
        default="active",
        help="'active': shift biases so every neuron starts active and fit the "
        "output layer by least squares (default); 'shift': only the shift; "
        "'default': torch's initialisation as is (ablations)",
    )
    parser.add_argument("--jobs", type=int, default=1, help="parallel processes")
    parser.add_argument("--results-dir", type=Path, default=None)
    parser.add_argument(
        "--table-only", action="store_true", help="only print the table of done cells"
    )
    args = parser.parse_args(argv)
    seeds = list(range(args.seeds if args.seeds else (2 if args.quick else 5)))
    if args.adam_epochs is None:
        args.adam_epochs = 100 if args.quick else 1000
    if args.lbfgs_epochs is None:
        args.lbfgs_epochs = 5 if args.quick else 50
    configs = args.configs or (CONFIGS[:4] if args.quick else CONFIGS)
    name = "polynomials_quick" if args.quick else "polynomials"
    results = args.results_dir or ROOT / name
    results.mkdir(parents=True, exist_ok=True)

    if not args.table_only:
        stored = harness.read_cells(results / CELLS, cell_key)
        jobs = []
        for N, k in configs:
            for model in args.models:
                for seed in seeds:
                    key = (N, k, model, seed)
                    if load_done(stored, key, settings(args, model)) is None:
                        jobs.append((N, k, model, seed, args, results / CELLS))
        print(f"{len(jobs)} cells to run, results in {results}", flush=True)
        start = time.perf_counter()
        if args.jobs > 1:
            with ProcessPoolExecutor(args.jobs) as pool:
                done = pool.map(run_cell, jobs)
                for i, rec in enumerate(done, 1):
                    report(rec, jobs[i - 1][2], i, len(jobs), start)
        else:
            for i, job in enumerate(jobs, 1):
                report(run_cell(job), job[2], i, len(jobs), start)

    lines, matched, complete = table(results, args, configs, seeds)
    text = "\n".join([*lines, "", recipe_text(args, seeds)])
    print()
    print(text)
    print(
        f"\nFreeNet mean MSE <= the authors' in {matched} of {complete} complete "
        "configurations."
    )
    if not args.quick and args.results_dir is None:
        md = ROOT / "polynomials.md"
        # keep the hand-written sections (ablations) that follow the table
        tail = md.read_text().partition("\n## ")[1:] if md.exists() else ()
        md.write_text(
            "# Learned monomial fits (benchmarks/bench_polynomials.py)\n\n"
            + text
            + "\n"
            + "".join(tail)
        )
        print(f"written to {md}")
    return 0


def report(rec, model, i, n, start):
    mse = rec["mse"]
    shown = "n/a" if mse is None else f"{mse:.3e}"
    print(
        f"[{i}/{n}] N={rec['N']:>2} k={rec['k']} {model:<10} seed {rec['seed']}: "
        f"MSE {shown}  ({rec['seconds']:.1f}s, {time.perf_counter() - start:.0f}s "
        "total)",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
