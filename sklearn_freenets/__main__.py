# SPDX-License-Identifier: BSD-3-Clause
"""Command line of sklearn-freenets.

``python -m sklearn_freenets`` (or ``python -m sklearn_freenets demo``) fits each
estimator with its defaults and the same network unevolved (``evolve_rounds=0``)
on a regression where depth pays (a sixth power of three inputs; there also
with ``rule="rigl"``) and on scikit-learn's bundled digits, and prints the test
score, the edges FreeEvolve wired, its rounds, the epochs and the fit time of
each.

``python -m sklearn_freenets theorem1 --degree N --domain LO HI`` builds the exact
squared-ReLU FreeNet of a polynomial (Theorem 1, see
:func:`sklearn_freenets.theory.polynomial_freenet`), verifies it on a grid and
prints one row per construction.

``python -m sklearn_freenets COMMAND --help`` lists the options of a command.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import textwrap
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any


def demo_split(seed: int) -> list:
    """The demo's data: digits, pixels / 16, a stratified 70 / 30 split by ``seed``."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.3, stratify=y, random_state=seed)


def demo_power_split(seed: int) -> list:
    """The demo's regression: ``y = (x1 + x2 - x3)^6`` plus 1 % noise.

    8 inputs uniform on [-1, 1] (5 of them unused), 5,000 training and 1,000
    test rows drawn with ``seed``: a target of high degree in a few inputs,
    where a deep graph pays and a one-hidden-layer net of the same width falls
    short.
    """
    import numpy as np

    rng = np.random.default_rng(1000 + seed)
    X = rng.uniform(-1, 1, size=(6000, 8))
    f = (X[:, 0] + X[:, 1] - X[:, 2]) ** 6
    y = f + 0.01 * f.std() * rng.standard_normal(len(f))
    return [X[:5000], X[5000:], y[:5000], y[5000:]]


# The demo's tasks: title, data, estimator, k, score name.
DEMO_TASKS = {
    "regression": (
        "(x1 + x2 - x3)^6 + 1 % noise, 8 inputs uniform on [-1, 1]",
        demo_power_split,
        "FreeNetRegressor",
        32,
        "test R^2",
    ),
    "digits": (
        "digits, pixels / 16",
        demo_split,
        "FreeNetClassifier",
        64,
        "test acc",
    ),
}


# What each task adds to the defaults: on the regression the rule that grows
# depth there; on digits FreeEvolve itself, which the classifier runs only when
# asked (its default is evolve_rounds=0).
DEMO_EXTRA: dict[str, dict[str, Any]] = {
    "regression": {"rule": "rigl", "epsilon": 0.1},
    "digits": {"evolve_rounds": 60},
}


def demo_models(task: str, seed: int, verbose: int = 0) -> dict:
    """The demo's models of ``task``, unfitted: the defaults, unevolved, and more.

    Every parameter at its default but ``k``, ``random_state`` and ``verbose``;
    the second model is the same network with ``evolve_rounds=0`` (the
    classifier's default already); a third one adds :data:`DEMO_EXTRA`: RigL on
    the regression, FreeEvolve's default schedule on digits.
    """
    import sklearn_freenets

    _, _, name, k, _ = DEMO_TASKS[task]
    Estimator = getattr(sklearn_freenets, name)
    common = dict(k=k, random_state=seed, verbose=verbose)
    models = {
        f"{name}(k={k})": Estimator(**common),
        "  evolve_rounds=0": Estimator(**common, evolve_rounds=0),
    }
    extra = DEMO_EXTRA[task]
    options = ", ".join(f"{key}={value!r}" for key, value in extra.items())
    models[f"  {options}"] = Estimator(**common, **extra)
    return models


def _demo(args: argparse.Namespace) -> int:
    tasks = list(DEMO_TASKS) if args.task == "both" else [args.task]
    print(
        textwrap.fill(
            "What FreeEvolve does: each FreeNet at its defaults (the regressor "
            "evolves, the classifier does not) against the same network "
            f"unevolved (evolve_rounds=0) and evolved otherwise, seed {args.seed}.",
            width=_WIDTH,
        )
    )
    # The first optimizer a process builds imports torch's compiler stack
    # (torch._dynamo, seconds on a small machine); build one before timing, so
    # that neither model's fit time includes it.
    import torch
    from sklearn.exceptions import ConvergenceWarning

    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    for task in tasks:
        title, split, _, _, score_name = DEMO_TASKS[task]
        X_train, X_test, y_train, y_test = split(args.seed)
        print(
            "\n"
            + textwrap.fill(
                f"{title}: {len(X_train)} training / {len(X_test)} test rows, "
                f"{X_train.shape[1]} features",
                width=_WIDTH,
            )
            + "\n"
        )
        header = (
            f"{'model':<29}{score_name:>9}{'edges':>7}{'rounds':>8}{'epochs':>8}"
            f"{'fit time':>10}"
        )
        print(header)
        print("-" * len(header))
        for name, model in demo_models(task, args.seed, args.verbose).items():
            start = time.perf_counter()
            with warnings.catch_warnings():
                # max_epochs reached is shown by the epochs column
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(X_train, y_train)
            seconds = time.perf_counter() - start
            print(
                f"{name:<29}{model.score(X_test, y_test):>9.4f}{model.n_edges_:>7d}"
                f"{len(model.evolution_history_):>8d}{model.n_iter_:>8d}"
                f"{seconds:>9.2f}s"
            )
    print(
        "\n"
        + textwrap.fill(
            "epochs: those the fit ran (200, the default max_epochs, when the "
            "loss still improved; the regressor then trains a fifth more on "
            "every row, after stopping on held-out ones); rounds: FreeEvolve "
            "rounds, which run until three in a row change nothing.",
            width=_WIDTH,
        )
    )
    return 0


_THEOREM1_TOL = 1e-12
_WIDTH = 79  # of the prose around the tables


def _theorem1(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    import numpy as np

    from sklearn_freenets import theory

    lo, hi = args.domain  # each finite: see _number
    if not lo < hi:
        parser.error(f"argument --domain: needs LO < HI, got {lo:g} {hi:g}")
    if not math.isfinite(hi - lo):
        parser.error(f"argument --domain: HI - LO overflows float64, got {lo:g} {hi:g}")
    if args.coef is not None:
        coef = np.asarray(args.coef, dtype=np.float64)
        source = "given coefficients"
    else:
        coef = np.random.default_rng(args.seed).standard_normal(args.degree + 1)
        source = f"random N(0, 1) power-basis coefficients, seed {args.seed}"
    nonzero = np.flatnonzero(coef)
    degree = int(nonzero[-1]) if nonzero.size else 0
    methods = [args.method] if args.method else ["layer", "paterson_stockmeyer"]
    # Build and check every network before printing, so that a polynomial that
    # cannot be built, or whose construction or values overflow float64 (huge
    # --coef, or a high degree on a wide --domain), is a usage error of the
    # argument that gave it rather than a traceback or a table of NaN.
    given = "--coef" if args.coef is not None else "--degree"
    rows = []
    for method in methods:
        try:
            with np.errstate(over="raise", invalid="raise"):
                estimator = theory.polynomial_freenet(coef, (lo, hi), method=method)
                result = theory.check_representation(
                    estimator, coef, (lo, hi), args.points
                )
        except (OverflowError, FloatingPointError):
            parser.error(
                f"argument {given}: the {method} construction overflows float64 on "
                f"[{lo:g}, {hi:g}]; use smaller coefficients, a lower degree or a "
                "narrower --domain"
            )
        except ValueError as exc:  # theory's own refusal, a sentence
            reason = str(exc)
            parser.error(f"argument {given}: {reason[:1].lower()}{reason[1:]}")
        rows.append((method, estimator, result))
    intro = (
        f"Theorem 1: p of degree {degree} on [{lo:g}, {hi:g}] ({source}); "
        f"squared-ReLU FreeNet, float64, checked on {args.points} points"
    )
    print(textwrap.fill(intro, width=_WIDTH) + "\n")
    header = (
        f"{'method':<21}{'neurons':>8}{'max abs err':>13}{'max rel err':>13}"
        f"{'min margin':>12}  result"
    )
    print(header)
    print("-" * len(header))
    failed = False
    for method, estimator, result in rows:
        ok = result["max_rel_error"] <= _THEOREM1_TOL and result["min_margin"] > 0
        failed |= not ok
        print(
            f"{method:<21}{estimator.k:>8d}{result['max_abs_error']:>13.2e}"
            f"{result['max_rel_error']:>13.2e}{result['min_margin']:>12.4g}  "
            f"{'pass' if ok else 'fail'}"
        )
    auto = theory.neurons_needed(degree, "auto")
    legend = (
        f"pass: max |net - p| / max |p| <= {_THEOREM1_TOL:g} and every "
        f"pre-activation > 0 on the grid. method='auto' uses {auto} neurons "
        f"(paper's bound: degree {degree} in at most {max(degree, 1)})."
    )
    print("\n" + textwrap.fill(legend, width=_WIDTH))
    return 1 if failed else 0


def _plain(text: str) -> str:
    """Turn the reStructuredText of a docstring into plain text for ``--help``.

    A literal in double backquotes becomes one in single quotes, and a role such as
    :func:`~pkg.mod.name` becomes ``name`` (``pkg.mod.name`` without the ``~``).
    """
    text = re.sub(r":[\w:]+:`~([^`<]*\.)?([^`<.]+)`", r"\2", text)
    text = re.sub(r":[\w:]+:`([^`<]+)`", r"\1", text)
    return re.sub(r"``(.+?)``", r"'\1'", text, flags=re.S)


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Re-wrap each paragraph of a description separately and show the defaults.

    An option whose help already says its default, or whose default is None, is
    left as written.
    """

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        fill = super()._fill_text
        paragraphs = [p for p in text.split("\n\n") if p.strip()]
        return "\n\n".join(fill(p, width, indent) for p in paragraphs)

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


class _ArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser that reads ``-1e3``, ``-.5`` and ``-inf`` as numbers.

    argparse takes an argument starting with ``-`` for an option unless it looks like
    a negative number, and the argparse of Python 3.11 counts only ``-1`` and ``-1.5``
    as such: ``--domain -1e3 1`` failed with "expected 2 arguments". No option of
    this command line is ``-`` then a digit, a point, ``inf`` or ``nan``. Subparsers
    are of the same class (``add_subparsers`` uses the parent's class).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = re.compile(r"-(\.?\d|inf|nan)", re.I)


def _integer(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: an integer from ``low`` to ``high`` (None: no bound).

    Out of range, argparse reports "argument --k: must be an integer >= 1, got 0".
    """
    bounds = f">= {low}" if high is None else f"in [{low}, {high}]"

    def integer(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be an integer {bounds}, got {text}")
        return value

    return integer


def _number(
    above: float | None = None, below: float | None = None
) -> Callable[[str], float]:
    """An argparse ``type``: a finite float, ``> above`` and ``< below`` if given.

    NaN and infinities are refused: argparse reports, say, "argument --lr: must be a
    finite number > 0, got 0".
    """
    if above is not None and below is not None:
        wanted = f"a number in ({above:g}, {below:g})"
    else:
        wanted = "a finite number"
        wanted += "" if above is None else f" > {above:g}"
        wanted += "" if below is None else f" < {below:g}"

    def number(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid float value: {text!r}") from None
        if not (
            math.isfinite(value)
            and (above is None or value > above)
            and (below is None or value < below)
        ):
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text}")
        return value

    return number


def _parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """Return the command line's parser and its subparsers by command."""
    paragraphs = _plain(__doc__ or "").split("\n\n")[1:] or [""]  # None with -OO
    parser = _ArgumentParser(
        prog="python -m sklearn_freenets",
        description="\n\n".join(paragraphs),
        formatter_class=_HelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", title="commands")
    demo = sub.add_parser(
        "demo",
        help="the defaults against the unevolved net (the default command)",
        description=paragraphs[0],
        formatter_class=_HelpFormatter,
    )
    demo_options = parser.add_argument_group("demo options (without a command)")
    for p in (demo_options, demo):
        p.add_argument(
            "--task",
            choices=["both", *DEMO_TASKS],
            default="both",
            help="which data set",
        )
        # check_random_state's range, for the estimators and train_test_split
        p.add_argument(
            "--seed", type=_integer(0, 2**32 - 1), default=0, help="random seed"
        )
        p.add_argument(
            "--verbose", type=_integer(0), default=0, help="training output: 0, 1 or 2"
        )
    thm = sub.add_parser(
        "theorem1",
        help="build, verify and tabulate an exact polynomial FreeNet",
        description="Build the exact squared-ReLU FreeNet of a polynomial with each "
        "construction, verify it with theory.check_representation and print a table.",
        formatter_class=_HelpFormatter,
    )
    thm.add_argument(
        "--degree", type=_integer(0), default=8, help="degree of a random polynomial"
    )
    thm.add_argument(
        "--domain",
        type=_number(),
        nargs=2,
        default=(-1.0, 1.0),
        metavar=("LO", "HI"),
        help="interval (default: -1 1)",
    )
    thm.add_argument(
        "--method",
        choices=["layer", "paterson_stockmeyer", "auto"],
        default=None,
        help="one construction (default: both layer and paterson_stockmeyer)",
    )
    thm.add_argument(
        "--coef",
        type=_number(),
        nargs="+",
        default=None,
        help="power-basis coefficients, lowest degree first (overrides --degree)",
    )
    thm.add_argument(
        "--seed", type=_integer(0), default=0, help="seed of the coefficients"
    )
    thm.add_argument("--points", type=_integer(2), default=10001, help="grid points")
    return parser, {"demo": demo, "theorem1": thm}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser, commands = _parser()
    args = parser.parse_args(argv)
    if args.command == "theorem1":
        return _theorem1(args, commands["theorem1"])
    return _demo(args)


if __name__ == "__main__":
    sys.exit(main())
