# SPDX-License-Identifier: BSD-3-Clause
"""Table 2 of the FreeNets paper, rerun faithfully: FreeEvolve against FCNN baselines.

What is compared
----------------
On MNIST, Fashion-MNIST and EMNIST, for every k of the paper's Table 2 (30 ... 100)
and several seeds, every model below is a ``FreeNetClassifier`` trained with one
budget (``table2/run.py``: ``TRAINING``, Adam, exactly ``max_epochs`` epochs):

- ``FreeEvolve eps=E``, E in 0.1 / 0.25 / 0.5: the paper's method, from the
  **dense** graph, with the paper's rule; rounds every 20 mini-batches of the first
  epoch, then after every epoch, until three rounds in a row change nothing. The
  report picks E on the validation split only and always shows E = 0.25.
- ``FCNN``: one hidden layer of k neurons (the empty graph, no evolution).
- ``Dense (no evolution)``: the dense graph left as it is (ablation).
- ``FCNN (param-matched)``: an FCNN widened by ``k (k - 1) / 2 / (d + 1 + c)``
  neurons, so its parameter count matches the dense graph's.
- ``FreeEvolve from empty eps=0.25``: the paper's rule from the empty graph.
- ``usage eps=...`` and ``contribution eps=...``: the library's other rules
  (``sklearn_freenets.evolve.RULES``) from the dense graph.
- ``revival eps=0.25``: the paper's rule from the dense graph with
  ``revive_dead=True`` (neurons that never fired get fresh incoming weights).

Seeds are paired: the same seed gives every method the same data order and, where
the shapes agree, the same initial weights; the report gives per-k differences
(FreeEvolve - FCNN, FreeEvolve - Dense, ...) with their spread over seeds.

Data and protocol
-----------------
MNIST and Fashion-MNIST: the official split; EMNIST: only the ByClass test split
ships offline, divided 80/20 (not the paper's split). 10 % of each training split
(stratified, seed 0) is the validation split, on which every choice is made; the
models train on the other 90 %.

Subcommands
-----------
::

    python benchmarks/bench_table2.py run [--datasets ...] [--ks ...] [--seeds N]
        [--methods ...] [--epochs E] [--max-train N] [--worker I/N] [--out DIR]
    python benchmarks/bench_table2.py report [--out DIR] [--update-readme]
    python benchmarks/bench_table2.py pilot DIR [--out DIR]  # pilot vs the table
    python benchmarks/bench_table2.py plots [--out DIR]      # figures from cells
    python benchmarks/bench_table2.py figures                # Figs. 4, 6, 7, 9 (fits)
    python benchmarks/bench_table2.py quick                  # smoke test, minutes

``run`` appends each finished cell as one line of ``DIR/cells.jsonl`` (JSON Lines
keyed by data set, method, k and seed; ``harness.py``) and skips cells already
there, so it resumes where it stopped; ``--worker I/N`` takes every N-th
cell (start N workers of one thread each on N cores). Cells run k by k, at
spread-out k (30, 100, 60, ...), every seed and data set per k, so a partial run
already gives paired comparisons over all seeds. A results folder holds one
training budget: ``run`` refuses to add cells made with another. The whole table
(3 data sets x 10 k x 13 methods x 3 seeds) is many hours on 2 cores; it is run
across sessions and committed as it grows. Pilots (``run.PILOTS``) are methods
tried on a few cells in a folder of their own (``run --methods PILOT --out DIR``,
refused in the table's); ``pilot DIR`` pairs them with the table's cells of the
same data set, k and seed and writes ``DIR/pilot.md``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import harness
import torch
from table2 import common, plots, report, run


def _run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    training = dict(run.TRAINING)
    if args.epochs is not None:
        training["max_epochs"] = args.epochs
    methods = args.methods or list(run.METHODS)
    unknown = sorted(set(methods) - set(run.ALL_METHODS))
    if unknown:
        raise SystemExit(
            f"unknown methods {unknown}; choose from {list(run.ALL_METHODS)}"
        )
    pilots = sorted(set(methods) & set(run.PILOTS))
    if pilots and out.resolve() == common.RESULTS.resolve():
        raise SystemExit(
            f"{pilots} are pilots, not rows of the table: give them their own --out"
        )
    stored = {key: run._jsonable(v) for key, v in training.items()}
    store = common.cells_path(out)
    cells = harness.read_cells(store, common.cell_key)
    for key, rec in cells.items():
        if rec["training"] != stored or rec["setting"]["max_train"] != args.max_train:
            raise SystemExit(
                f"{store}: cell {key} was made with another budget "
                f"({rec['training']}, max_train={rec['setting']['max_train']}); use "
                "another --out or the same options."
            )
    order = run.cell_order(args.datasets, args.ks, list(range(args.seeds)), methods)
    index, n_workers = (int(v) for v in args.worker.split("/"))
    order = order[index::n_workers]
    todo = [c for c in order if (c[2], c[3], c[1], c[0]) not in cells]
    print(
        f"worker {index}/{n_workers}: {len(order)} cells, {len(todo)} to run; "
        f"training {training}",
        flush=True,
    )
    torch.set_num_threads(1)
    cache: dict[str, dict] = {}
    setting = run.setting(args.max_train)
    t0 = time.perf_counter()
    for i, (seed, k, dataset, method) in enumerate(todo, 1):
        if harness.is_done(store, (dataset, method, k, seed), common.cell_key):
            continue  # another worker got there first
        if dataset not in cache:
            cache[dataset] = common.load_dataset(
                dataset, args.data_home, args.max_train
            )
        rec = run.run_cell(cache[dataset], dataset, method, k, seed, training, setting)
        harness.append_cell(store, rec)
        print(
            f"[{i}/{len(todo)} {(time.perf_counter() - t0) / 60:6.1f} min] "
            f"{dataset:13s} {method:31s} k={k:3d} seed={seed} "
            f"test {100 * rec['accuracy']:.2f} valid {100 * rec['valid_accuracy']:.2f} "
            f"edges {rec['edges_start']}->{rec['edges_end']} "
            f"rounds {len(rec['rounds'])} fit {rec['fit_seconds']:.0f}s",
            flush=True,
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("Subcommands")[0].split("\n\n", 1)[1],
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="fit the missing cells")
    p_run.add_argument(
        "--datasets", nargs="+", choices=common.DATASETS, default=list(common.DATASETS)
    )
    p_run.add_argument("--ks", nargs="+", type=int, default=list(common.KS))
    p_run.add_argument("--seeds", type=int, default=3, help="number of seeds")
    p_run.add_argument("--methods", nargs="+", default=None, metavar="METHOD")
    p_run.add_argument("--epochs", type=int, default=None, help="max_epochs")
    p_run.add_argument("--max-train", type=int, default=None)
    p_run.add_argument("--worker", default="0/1", help="I/N: every N-th cell from I")
    p_run.add_argument("--data-home", default=None)
    p_report = sub.add_parser("report", help="write table2.md / table2.json")
    p_report.add_argument(
        "--update-readme", action="store_true", help="also rewrite README's block"
    )
    for p in (p_run, p_report):
        p.add_argument("--out", default=str(common.RESULTS))
    p_pilot = sub.add_parser(
        "pilot", help="pilot cells (run --methods PILOT --out DIR) against the table"
    )
    p_pilot.add_argument("pilot_out", help="the pilot's --out folder")
    p_pilot.add_argument("--out", default=str(common.RESULTS), help="the table's")
    p_plots = sub.add_parser("plots", help="figures from the finished cells")
    p_plots.add_argument("--out", default=str(common.RESULTS))
    p_fig4 = sub.add_parser(
        "figures", help="Figs. 4, 6, 7, 9 from fits on Fashion-MNIST"
    )
    p_fig4.add_argument("--out", default=str(common.RESULTS))
    p_fig4.add_argument("--data-home", default=None)
    p_fig4.add_argument("--epochs", type=int, default=None)
    p_quick = sub.add_parser("quick", help="smoke test on 3,000 rows, 2 epochs")
    p_quick.add_argument("--out", default=str(common.RESULTS.parent / "table2-quick"))
    p_quick.add_argument("--data-home", default=None)
    args = parser.parse_args(argv)
    if args.command == "run":
        return _run(args)
    if args.command == "report":
        readme = common.ROOT / "README.md" if args.update_readme else None
        print(report.write(Path(args.out), readme))
        return 0
    if args.command == "pilot":
        print(report.write_pilot(Path(args.pilot_out), Path(args.out)))
        return 0
    if args.command == "plots":
        plots.from_cells(Path(args.out))
        return 0
    if args.command == "figures":
        plots.figures(Path(args.out), args.data_home, args.epochs)
        return 0
    quick = argparse.Namespace(
        out=args.out, epochs=2, max_train=3000, methods=None, datasets=["mnist"],
        ks=[30], seeds=1, worker="0/1", data_home=args.data_home,
    )  # fmt: skip
    _run(quick)
    print(report.write(Path(args.out)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
