# SPDX-License-Identifier: BSD-3-Clause
"""One torch thread against all of them, per problem size, on an idle and a busy CPU.

What is compared
----------------
For every cell of a grid of problem sizes (batch size in {32, 200, 1024},
``n_features`` in {8, 64, 784}, ``k`` in {16, 100, 300}, 10 outputs) this script
times one training step (forward, cross-entropy, backward and an Adam step, fused
on the CPU as the estimators use it) of two models:

- ``freenet``: ``sklearn_freenets.nn.FreeNetModule(n_features, k, 10)`` with
  the dense graph and the default backend (the compiled serial kernels on the CPU);
- ``mlp``: ``Sequential(Linear(n_features, k), ReLU, Linear(k, 10))``, for reference;

once with ``torch.set_num_threads(1)`` and once with ``torch.set_num_threads(N)``,
``N = os.cpu_count()`` unless ``--threads`` says otherwise. Both thread counts train
the same module and optimizer, in ONE process, alternately: after warm-up steps,
every repeat times a burst of steps with one thread count and then a burst with the
other (the order flips every repeat, and one untimed step follows every switch).
The burst length is chosen in the warm-up so that a burst lasts about
``--burst-ms``; the time per step of a repeat is the burst's wall-clock time
(``time.perf_counter``) over its length. The report gives, per cell, the median
time per step of each thread count over the repeats and the ratio
``time(N threads) / time(1 thread)`` (below 1: N threads are faster) as the median
of the per-repeat ratios of adjacent bursts, with their 25th-75th percentiles (the
ratio of the medians and of the mean times are in the JSON).

The grid runs in two modes in the same run: ``idle`` (nothing started by the
script) and ``busy``, in which the script starts ``os.cpu_count()`` processes
spinning in a pure-Python loop (``--busy-procs``; ``harness.busy_load``), so that
every core is taken by another process, and kills them afterwards. torch's
intra-op thread pool waits for its workers by spinning, which is what makes more
threads expensive on small problems when a core is taken.

The problem size of a cell is the number of multiply-adds of one forward pass:
``batch * (n_features * k + k * k / 2 + k * n_outputs)`` for the FreeNet (encoder,
dense recurrence, decoder) and ``batch * (n_features * k + k * n_outputs)`` for the
MLP. Rows are sorted by it. The summary gives, per model and mode:

- the crossover: the smallest size from which N threads are faster than 1 in every
  larger cell of the grid (and the smallest size at which they win at all);
- the best threshold rule "1 thread below size M, N threads from M on": the ``M``
  whose worst cell is the least slower than the better of the two thread counts
  (the regret, ``time(choice) / min(time(1), time(N))``), per mode and for both
  modes together;
- how much slower N threads are than 1 on the problems below the crossover.

How to run
----------
::

    python benchmarks/bench_threads.py --quick          # tiny grid, < 1 min
    python benchmarks/bench_threads.py                  # full grid, both modes
    python benchmarks/bench_threads.py --modes busy --models freenet --repeats 9
    python benchmarks/bench_threads.py --batch-sizes 200 1024 --ks 16 100

On the 2-core development machine the full grid took about 8 minutes: 30 s idle,
the rest busy, where a step with 2 threads took 0.1-0.4 s whatever its size, so
most busy cells ran until ``--max-cell-seconds`` (10 s of repeats); with
``--max-cell-seconds 2`` a busy cell should take about 3 s, the run 4-5 minutes.
``--render-only`` rewrites the report from a saved JSON without measuring.

A full run writes ``benchmarks/results/threads.md`` and ``threads.json``
(``--output``; a ``--quick`` run writes nothing unless ``--output`` is given). Run
it with no other heavy work on the machine for the ``idle`` numbers to mean idle;
the load average at the start of each mode is printed. Threading environment
variables (``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``) do not matter, since the
script sets torch's thread count itself, but OpenMP's wait policy does
(``OMP_WAIT_POLICY``, ``GOMP_SPINCOUNT``, ``KMP_BLOCKTIME``); it is printed.

What counts as a pass
---------------------
The measurement is usable for a size-based thread rule when one threshold ``M``,
the same for both modes, keeps the FreeNet within 10% of the better thread count in
every cell (the combined best threshold has a worst regret <= ``--tolerance``,
1.10 by default). The script prints that threshold and whether this holds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import harness
import torch

from sklearn_freenets.nn import FreeNetModule

N_OUTPUTS = 10
RESULTS_DIR = Path(__file__).resolve().parent / "results"
_clock = time.perf_counter


def forward_macs(model: str, batch: int, d: int, k: int) -> int:
    """Multiply-adds of one forward pass of ``model`` on ``batch`` rows."""
    per_row = d * k + k * N_OUTPUTS + (k * k // 2 if model == "freenet" else 0)
    return batch * per_row


def _build(model: str, d: int, k: int, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    if model == "freenet":
        return FreeNetModule(d, k, N_OUTPUTS)
    return torch.nn.Sequential(
        torch.nn.Linear(d, k), torch.nn.ReLU(), torch.nn.Linear(k, N_OUTPUTS)
    )


class _Stepper:
    """One model, its Adam optimizer and a fixed batch: ``step()`` trains once."""

    def __init__(self, module: torch.nn.Module, batch: int, d: int, fused: bool):
        gen = torch.Generator().manual_seed(batch * 7919 + d)
        self.module = module
        self.X = torch.rand(batch, d, generator=gen)
        self.y = torch.randint(0, N_OUTPUTS, (batch,), generator=gen)
        self.criterion = torch.nn.CrossEntropyLoss()
        self.optimizer = torch.optim.Adam(module.parameters(), lr=1e-3, fused=fused)

    def step(self) -> None:
        self.optimizer.zero_grad()
        loss = self.criterion(self.module(self.X), self.y)
        loss.backward()
        self.optimizer.step()

    def burst(self, n: int) -> float:
        """Seconds per step over ``n`` consecutive steps."""
        t0 = _clock()
        for _ in range(n):
            self.step()
        return (_clock() - t0) / n


def _set_threads(n: int) -> None:
    torch.set_num_threads(n)
    if torch.get_num_threads() != n:
        raise RuntimeError(f"torch.set_num_threads({n}) did not take effect")


def _quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    q25, _, q75 = statistics.quantiles(values, n=4, method="inclusive")
    return q25, q75


def measure_cell(
    stepper: _Stepper, thread_counts: tuple[int, int], args: argparse.Namespace
) -> dict:
    """Time ``stepper`` with both thread counts, interleaved; return the stats."""
    bursts = {}
    for n in thread_counts:  # warm-up, and the burst length for this thread count
        _set_threads(n)
        for _ in range(max(args.warmup - 1, 0)):
            stepper.step()
        est = min(stepper.burst(1) for _ in range(2))
        bursts[n] = max(1, min(args.max_burst, round(args.burst_ms * 1e-3 / est)))
    times: dict[int, list[float]] = {n: [] for n in thread_counts}
    t_start = _clock()
    for rep in range(args.repeats):
        order = thread_counts if rep % 2 == 0 else thread_counts[::-1]
        for n in order:
            _set_threads(n)
            for _ in range(args.settle):
                stepper.step()
            times[n].append(stepper.burst(bursts[n]))
            if torch.get_num_threads() != n:
                raise RuntimeError("the thread count changed during a burst")
        if rep + 1 >= 3 and _clock() - t_start > args.max_cell_seconds:
            break
    one, many = thread_counts
    paired = [b / a for a, b in zip(times[one], times[many], strict=True)]
    q25, q75 = _quartiles(paired)
    med = {n: statistics.median(t) for n, t in times.items()}
    return {
        "t1_ms": 1e3 * med[one],
        "tN_ms": 1e3 * med[many],
        "ratio": statistics.median(paired),
        "ratio_of_medians": med[many] / med[one],
        "ratio_q25": q25,
        "ratio_q75": q75,
        "mean_ratio": statistics.fmean(times[many]) / statistics.fmean(times[one]),
        "repeats": len(times[one]),
        "burst": {str(n): b for n, b in bursts.items()},
        "t1_all_ms": [1e3 * t for t in times[one]],
        "tN_all_ms": [1e3 * t for t in times[many]],
    }


# --------------------------------------------------------------------- summary


def _fmt_macs(m: float) -> str:
    if math.isinf(m):
        return "never"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if m >= scale:
            return f"{m / scale:.3g}{unit}"
    return f"{m:.0f}"


def _crossover(rows: list[dict], mode: str) -> tuple[float, float]:
    """(smallest size from which N threads win in every larger cell, first win)."""
    ordered = sorted(rows, key=lambda r: r["macs"])
    strict = math.inf
    for row in reversed(ordered):
        if row[mode]["ratio"] < 1.0:
            strict = row["macs"]
        else:
            break
    wins = [r["macs"] for r in ordered if r[mode]["ratio"] < 1.0]
    return strict, (wins[0] if wins else math.inf)


def _regret(row: dict, mode: str, threshold: float) -> float:
    """How much slower the rule's choice is than the better thread count."""
    ratio = row[mode]["ratio"]
    return max(1.0, ratio) if row["macs"] >= threshold else max(1.0, 1.0 / ratio)


def best_threshold(rows: list[dict], modes: list[str]) -> dict:
    """The threshold M (N threads from M on) with the smallest worst regret."""
    candidates = sorted({r["macs"] for r in rows}) + [math.inf]
    best = None
    for m in candidates:
        regrets = [(_regret(r, mode, m), r, mode) for r in rows for mode in modes]
        worst = max(regrets, key=lambda t: t[0])
        gmean = math.exp(statistics.fmean(math.log(t[0]) for t in regrets))
        # Ties go to the larger threshold (one thread is the robust choice).
        key = (round(worst[0], 3), round(gmean, 3), -m)
        if best is None or key < best[0]:
            best = (key, m, worst, gmean)
    _, m, (worst, row, mode), gmean = best
    return {
        "threshold_macs": m,
        "worst_regret": worst,
        "worst_cell": f"{mode} b={row['batch']} d={row['d']} k={row['k']}",
        "geomean_regret": gmean,
    }


def _rule(threshold: float, n_threads: int) -> str:
    if math.isinf(threshold):
        return "always 1 thread"
    return (
        f"1 thread below {_fmt_macs(threshold)} multiply-adds per forward, "
        f"{n_threads} from there"
    )


def summarize(results: dict, modes: list[str], n_threads: int) -> list[str]:
    lines = []
    for model, rows in results.items():
        lines.append(f"### {model}")
        lines.append("")
        for mode in modes:
            strict, first = _crossover(rows, mode)
            below = [r[mode]["ratio"] for r in rows if r["macs"] < strict]
            worst = max(rows, key=lambda r: r[mode]["ratio"])
            if math.isinf(strict):
                text = (
                    f"- {mode}: no crossover in the grid ({n_threads} threads do "
                    "not beat 1 in the largest cell; "
                    + (
                        f"first win at {_fmt_macs(first)} multiply-adds per forward)"
                        if not math.isinf(first)
                        else "no win in any cell)"
                    )
                )
            else:
                text = (
                    f"- {mode}: {n_threads} threads beat 1 in every cell from "
                    f"{_fmt_macs(strict)} multiply-adds per forward on"
                    f" (first win at {_fmt_macs(first)})"
                )
            if below:
                where = "over the grid" if math.isinf(strict) else "below that"
                text += (
                    f"; {where} {n_threads} threads take "
                    f"{statistics.median(below):.2f}x the time of 1 (median over "
                    f"{len(below)} cells), worst {worst[mode]['ratio']:.2f}x at "
                    f"b={worst['batch']} d={worst['d']} k={worst['k']} "
                    f"({_fmt_macs(worst['macs'])})"
                )
            lines.append(text + ".")
        for label, use in [(mode, [mode]) for mode in modes] + [("both modes", modes)]:
            if label == "both modes" and len(modes) < 2:
                continue
            best = best_threshold(rows, use)
            lines.append(
                f"- best rule for {label}: {_rule(best['threshold_macs'], n_threads)}"
                f"; worst regret {best['worst_regret']:.2f}x "
                f"({best['worst_cell']}), geometric mean "
                f"{best['geomean_regret']:.3f}x"
            )
        lines.append("")
    return lines


def render_table(rows: list[dict], modes: list[str], n_threads: int) -> list[str]:
    head = "| batch | d | k | MACs/fwd |"
    rule = "|---:|---:|---:|---:|"
    for mode in modes:
        head += f" {mode} 1t ms | {mode} {n_threads}t ms | {mode} {n_threads}t/1t |"
        rule += "---:|---:|---:|"
    lines = [head, rule]
    for r in sorted(rows, key=lambda r: (r["macs"], r["batch"])):
        line = f"| {r['batch']} | {r['d']} | {r['k']} | {r['macs']:,} |"
        for mode in modes:
            c = r[mode]
            line += (
                f" {c['t1_ms']:.3f} | {c['tN_ms']:.3f} | **{c['ratio']:.2f}** "
                f"({c['ratio_q25']:.2f}-{c['ratio_q75']:.2f}) |"
            )
        lines.append(line)
    return lines


# ------------------------------------------------------------------------ main


def _finite(obj):
    """``obj`` with infinite floats (no threshold: always 1 thread) as None."""
    if isinstance(obj, float) and math.isinf(obj):
        return None
    if isinstance(obj, dict):
        return {key: _finite(val) for key, val in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(val) for val in obj]
    return obj


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny grid, 3 repeats")
    parser.add_argument("--modes", default="idle,busy", help="idle,busy or one")
    parser.add_argument("--models", default="freenet,mlp", help="freenet,mlp or one")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=None)
    parser.add_argument("--n-features", type=int, nargs="+", default=None)
    parser.add_argument("--ks", type=int, nargs="+", default=None)
    parser.add_argument("--repeats", type=int, default=None, help="default 9 (3)")
    parser.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count() or 1,
        help="the many-threads count, compared with 1 (default: os.cpu_count())",
    )
    parser.add_argument("--busy-procs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--warmup", type=int, default=3, help="warm-up steps")
    parser.add_argument("--settle", type=int, default=1, help="steps after a switch")
    parser.add_argument("--burst-ms", type=float, default=None, help="default 25 (8)")
    parser.add_argument("--max-burst", type=int, default=50)
    parser.add_argument(
        "--max-cell-seconds",
        type=float,
        default=10.0,
        help="stop repeating a cell (after 3 repeats) past this time",
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="B,D,K",
        help="leave out a cell (0 = any), e.g. --skip 32,0,0",
    )
    parser.add_argument("--no-fused", action="store_true", help="plain Adam loop")
    parser.add_argument("--tolerance", type=float, default=1.10)
    parser.add_argument("--output", type=Path, default=None, help="markdown path")
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="measure nothing: rewrite the report from the JSON next to --output",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    modes = [m for m in args.modes.split(",") if m]
    models = [m for m in args.models.split(",") if m]
    if set(modes) - {"idle", "busy"} or not modes:
        parser.error("--modes takes idle, busy or idle,busy")
    if set(models) - {"freenet", "mlp"} or not models:
        parser.error("--models takes freenet, mlp or freenet,mlp")
    if args.threads < 2:
        parser.error("--threads must be at least 2")
    quick = args.quick
    batches = args.batch_sizes or ([32, 1024] if quick else [32, 200, 1024])
    dims = args.n_features or ([8, 784] if quick else [8, 64, 784])
    ks = args.ks or ([16, 100] if quick else [16, 100, 300])
    args.repeats = args.repeats or (3 if quick else 9)
    args.burst_ms = args.burst_ms or (8.0 if quick else 25.0)
    output = args.output
    if output is None and not quick:
        output = RESULTS_DIR / "threads.md"
    if args.render_only:
        output = output or RESULTS_DIR / "threads.md"
        payload = json.loads(output.with_suffix(".json").read_text())
        report(payload, args.tolerance, output)
        return 0
    skips = [tuple(int(v) for v in s.split(",")) for s in args.skip]

    def skipped(b: int, d: int, k: int) -> bool:
        return any(
            all(v in (0, x) for v, x in zip(s, (b, d, k), strict=True)) for s in skips
        )

    cells = [
        (b, d, k) for b in batches for d in dims for k in ks if not skipped(b, d, k)
    ]
    thread_counts = (1, args.threads)
    n = args.threads
    wait_env = {
        key: os.environ[key]
        for key in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")
        if key in os.environ
    }
    header = [
        f"torch {torch.__version__}, Python {platform.python_version()}, "
        f"os.cpu_count()={os.cpu_count()}, default torch threads="
        f"{torch.get_num_threads()}, compared: 1 vs {n} threads, "
        f"OpenMP wait settings: {wait_env or 'defaults'}",
        f"{len(cells)} cells x {len(models)} models x {len(modes)} modes; "
        f"{args.repeats} repeats (interleaved bursts of ~{args.burst_ms:g} ms, "
        f"{args.warmup} warm-up steps, {args.settle} untimed step(s) after each "
        f"switch, cells stopped after {args.max_cell_seconds:g} s of repeats once 3 "
        f"were done); Adam {'(fused)' if not args.no_fused else '(for-loop)'}, "
        f"busy mode: {args.busy_procs} pure-Python spinning processes",
    ]
    for line in header:
        print("# " + line, flush=True)

    # Compile (or load) the FreeNet kernels before anything is timed.
    if "freenet" in models:
        _set_threads(1)
        warm = _Stepper(_build("freenet", 8, 16, 0), 32, 8, not args.no_fused)
        for _ in range(3):
            warm.step()

    t_total = _clock()
    results: dict[str, list[dict]] = {m: [] for m in models}
    load: dict[str, list[float]] = {}
    for model in models:
        for b, d, k in cells:
            results[model].append(
                {
                    "batch": b,
                    "d": d,
                    "k": k,
                    "macs": forward_macs(model, b, d, k),
                }
            )
    for mode in modes:
        load[mode] = list(os.getloadavg())
        print(f"# mode {mode}: load average {load[mode][0]:.2f} at start", flush=True)
        load_ctx = (
            harness.busy_load(args.busy_procs) if mode == "busy" else nullcontext()
        )
        t_mode = _clock()
        with load_ctx:
            for model in models:
                for row in results[model]:
                    b, d, k = row["batch"], row["d"], row["k"]
                    stepper = _Stepper(
                        _build(model, d, k, args.seed), b, d, not args.no_fused
                    )
                    cell = measure_cell(stepper, thread_counts, args)
                    row[mode] = cell
                    print(
                        f"{mode:>4} {model:>7} b={b:<5} d={d:<4} k={k:<4} "
                        f"MACs={row['macs']:>12,}  1t {cell['t1_ms']:9.3f} ms  "
                        f"{n}t {cell['tN_ms']:9.3f} ms  {n}t/1t "
                        f"{cell['ratio']:6.2f} ({cell['ratio_q25']:.2f}-"
                        f"{cell['ratio_q75']:.2f})",
                        flush=True,
                    )
        print(f"# mode {mode}: {_clock() - t_mode:.1f} s", flush=True)
    elapsed = _clock() - t_total
    _set_threads(thread_counts[1])
    payload = {
        "header": header,
        "argv": sys.argv[1:] if argv is None else list(argv),
        "threads": list(thread_counts),
        "modes": modes,
        "max_cell_seconds": args.max_cell_seconds,
        "load_average": load,
        "elapsed_s": elapsed,
        "results": results,
    }
    report(payload, args.tolerance, output)
    return 0


def report(payload: dict, tolerance: float, output: Path | None) -> None:
    """Print the markdown report of ``payload``; write it and the JSON to output."""
    results, modes = payload["results"], payload["modes"]
    models = list(results)
    n = payload["threads"][1]
    command = " ".join(["python benchmarks/bench_threads.py", *payload["argv"]])
    lines = ["# torch intra-op threads: 1 vs all (benchmarks/bench_threads.py)", ""]
    lines += [line + "." for line in payload["header"]]
    lines += [
        "",
        f"Command: `{command}`",
        f"Total measuring time {payload['elapsed_s']:.0f} s; load average at the "
        "start of each mode: "
        + ", ".join(f"{m} {v[0]:.2f}" for m, v in payload["load_average"].items())
        + ".",
        "",
        "Median wall-clock time of one training step (forward + cross-entropy + "
        f"backward + Adam) with 1 and with {n} torch threads, and the ratio "
        f"{n}t/1t: the median of the per-repeat ratios of adjacent bursts (below "
        f"1: {n} threads faster; in brackets their 25th-75th percentiles). The "
        "summary's regret is the slowdown of a rule's choice against the better "
        "thread count of the cell, from these ratios. MACs/fwd: multiply-adds of one "
        "forward pass, batch * (d*k + k*k/2 + 10k) for the FreeNet, "
        "batch * (d*k + 10k) for the MLP.",
        "",
    ]
    for model in models:
        lines += [f"## {model}", ""]
        lines += render_table(results[model], modes, n)
        lines.append("")
    lines += ["## Summary", ""]
    lines += summarize(results, modes, n)
    passed = None
    if "freenet" in models:
        best = best_threshold(results["freenet"], modes)
        passed = best["worst_regret"] <= tolerance
        lines.append(
            f"Pass (one threshold for all modes keeps the FreeNet within "
            f"{tolerance:.2f}x of the better thread count in every cell): "
            f"{'yes' if passed else 'no'}; best rule "
            f"{_rule(best['threshold_macs'], n)}, worst regret "
            f"{best['worst_regret']:.2f}x ({best['worst_cell']})."
        )
    text = "\n".join(lines) + "\n"
    print()
    print(text)
    if output is None:
        return
    payload = dict(payload)
    payload["thresholds"] = {
        model: {
            label: best_threshold(rows, use)
            for label, use in [(m, [m]) for m in modes] + [("all", modes)]
        }
        for model, rows in results.items()
    }
    payload["pass"] = passed
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    json_path = output.with_suffix(".json")
    json_path.write_text(json.dumps(_finite(payload), indent=1) + "\n")
    print(f"# wrote {output} and {json_path}")


if __name__ == "__main__":
    sys.exit(main())
