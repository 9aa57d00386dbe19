# SPDX-License-Identifier: BSD-3-Clause
"""Command line of sklearn-freenets.

``python -m sklearn_freenets`` (or ``python -m sklearn_freenets demo``) trains a
FreeNet and the fully connected baseline of the same width on scikit-learn's
bundled digits and prints accuracy, edges before and after evolution, and fit
time.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence


def _demo(args: argparse.Namespace) -> int:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from sklearn_freenets import FreeNetClassifier

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=args.seed
    )
    print(
        f"digits: {len(X_train)} training / {len(X_test)} test images, "
        f"{X.shape[1]} features, 10 classes; k={args.k} neurons, "
        f"{args.epochs} epochs, seed {args.seed}\n"
    )
    common = dict(
        k=args.k,
        max_epochs=args.epochs,
        lr=args.lr,
        random_state=args.seed,
        verbose=args.verbose,
    )
    models = {
        "FreeNet (FreeEvolve)": FreeNetClassifier(
            **common, evolve_rounds=args.rounds, epsilon=args.epsilon
        ),
        "FCNN baseline": FreeNetClassifier(
            **common, evolve_rounds=0, initial_graph="empty"
        ),
    }
    rows = []
    for name, model in models.items():
        start = time.perf_counter()
        model.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        history = model.evolution_history_
        before = history[0]["n_edges_before"] if history else model.n_edges_
        rows.append(
            (
                name,
                model.score(X_test, y_test),
                before,
                model.n_edges_,
                len(history),
                seconds,
            )
        )
    header = f"{'model':<22}{'test acc':>10}{'edges before':>14}{'edges after':>13}"
    header += f"{'rounds':>8}{'fit time':>10}"
    print(header)
    print("-" * len(header))
    for name, acc, before, after, rounds, seconds in rows:
        print(
            f"{name:<22}{acc:>10.4f}{before:>14d}{after:>13d}{rounds:>8d}"
            f"{seconds:>9.2f}s"
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m sklearn_freenets", description=__doc__.split("\n\n")[1]
    )
    sub = parser.add_subparsers(dest="command")
    demo = sub.add_parser("demo", help="FreeNet vs FCNN on digits (the default)")
    for p in (parser, demo):
        p.add_argument("--k", type=int, default=64, help="neurons (default 64)")
        p.add_argument("--epochs", type=int, default=40, help="epochs (default 40)")
        p.add_argument("--rounds", type=int, default=5, help="FreeEvolve rounds")
        p.add_argument(
            "--epsilon", type=float, default=0.1, help="FreeEvolve threshold"
        )
        p.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate")
        p.add_argument("--seed", type=int, default=0, help="random seed")
        p.add_argument("--verbose", type=int, default=0, help="0, 1 or 2")
    args = parser.parse_args(argv)
    return _demo(args)


if __name__ == "__main__":
    sys.exit(main())
