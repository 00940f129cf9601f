"""The cost of one more consumer: synth time from 50 to 150 and from 150 to 300 consumers.

Each measurement builds ``benchmarks/large_fanout_app.py``'s fan-out (handler factories, one
nested stack per 15 consumers) with N consumers and synthesizes it, in a fresh Python process
(modules imported and the jsii kernel started before the clock), the sizes interleaved in
rotating order within each repetition so load on the machine falls on every size alike::

    python benchmarks/marginal_synth.py --reps 3

Prints each size's median build + synth time, then the marginal time per consumer of each
step, ``(t150 - t50) / 100`` and ``(t300 - t150) / 150``, and their ratio per repetition (the
paired figure: both steps from the same repetition's runs) and of the medians. Linear cost is a
ratio near 1; the design's bound is 1.2.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

_MEASURE = """
import json, sys, time, tempfile
sys.path.insert(0, {here!r})
import aws_cdk
from aws_cdk import App
import large_fanout_app
App(outdir=tempfile.mkdtemp()).synth()  # the kernel and every module loaded first
started = time.perf_counter()
app = App(outdir=tempfile.mkdtemp())
large_fanout_app.build(app, {consumers})
app.synth()
print(json.dumps({{"seconds": time.perf_counter() - started}}))
"""


def measure(consumers: int) -> float:
    """Build + synth seconds of a fan-out of ``consumers`` in a fresh process."""
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE.format(here=str(HERE), consumers=consumers)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"},
    )
    seconds: float = json.loads(result.stdout.strip().splitlines()[-1])["seconds"]
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs=3, default=[50, 150, 300])
    args = parser.parse_args()
    small, middle, large = args.sizes
    runs: list[dict[int, float]] = []
    for rep in range(args.reps):
        order = args.sizes[rep % 3 :] + args.sizes[: rep % 3]
        run = {size: measure(size) for size in order}
        runs.append(run)
        print(f"rep {rep + 1}: " + ", ".join(f"{s}: {run[s]:.1f} s" for s in args.sizes))

    def marginal(run: dict[int, float]) -> tuple[float, float]:
        return (
            (run[middle] - run[small]) / (middle - small),
            (run[large] - run[middle]) / (large - middle),
        )

    print(f"{'consumers':>9} | {'median s':>8}")
    medians = {size: statistics.median(run[size] for run in runs) for size in args.sizes}
    for size in args.sizes:
        print(f"{size:>9} | {medians[size]:>8.1f}")
    for index, run in enumerate(runs):
        low, high = marginal(run)
        print(
            f"rep {index + 1}: {small}->{middle} {low * 1000:.0f} ms/consumer, "
            f"{middle}->{large} {high * 1000:.0f} ms/consumer, ratio {high / low:.2f}"
        )
    low, high = marginal(medians)
    print(
        f"medians: {small}->{middle} {low * 1000:.0f} ms/consumer, {middle}->{large} "
        f"{high * 1000:.0f} ms/consumer, ratio {high / low:.2f}"
    )


if __name__ == "__main__":
    main()
