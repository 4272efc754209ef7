"""benchmarks/chaos: schedules of faults against `convergent node` processes on hosts of their
own, each checked; prints the table, writes a timeline plot, exits 1 on any anomaly."""

from __future__ import annotations

import argparse
import sys
import time

from . import network, stall
from .report import plot, table
from .run import Result, run


def stall_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="benchmarks/chaos stall", description=stall.__doc__)
    p.add_argument("--rate", type=float, default=5000.0, help="the writer's updates per second")
    p.add_argument("--warmup", type=float, default=10.0, help="seconds before the stall")
    p.add_argument("--stall", type=float, default=30.0, help="seconds the link is held")
    args = p.parse_args(argv)
    why = network.permitted()
    if why is not None:
        print(f"chaos: skipped: {why}")
        return 2
    return stall.main(args.rate, args.warmup, args.stall)


def main() -> int:
    if sys.argv[1:2] == ["stall"]:
        return stall_main(sys.argv[2:])
    p = argparse.ArgumentParser(
        prog="benchmarks/chaos",
        description=__doc__,
        epilog="benchmarks/chaos stall --help: the stall benchmark",
    )
    p.add_argument("--nodes", type=int, default=5, help="nodes per run (3-7)")
    p.add_argument("--seconds", type=float, default=60.0, help="length of one schedule")
    p.add_argument("--seed", type=int, default=1, help="the first schedule's seed")
    p.add_argument("--schedules", type=int, default=1, help="how many seeds, from --seed on")
    p.add_argument("--minutes", type=float, help="run schedules until this much time has passed")
    p.add_argument("--plot", help="write the first run's timeline here (PNG)")
    p.add_argument(
        "--skip-if-not-permitted",
        action="store_true",
        help="exit 0 with a message where network namespaces cannot be made",
    )
    args = p.parse_args()
    if not 3 <= args.nodes <= 7:
        p.error("--nodes must be in 3..7")
    why = network.permitted()
    if why is not None:
        print(f"chaos: skipped: {why}")
        return 0 if args.skip_if_not_permitted else 2
    results: list[Result] = []
    failed: list[int] = []
    start = time.monotonic()
    seed = args.seed
    while True:
        if args.minutes is not None:
            if time.monotonic() - start > args.minutes * 60:
                break
        elif len(results) + len(failed) >= args.schedules:
            break
        try:
            r = run(seed, args.nodes, args.seconds)
        except Exception as e:  # the harness itself failed: counted, and the next seed runs
            print(f"seed {seed}: the run failed: {type(e).__name__}: {e}", flush=True)
            failed.append(seed)
            seed += 1
            continue
        conv = "never" if r.convergence is None else f"{r.convergence:.2f} s"
        print(
            f"seed {seed}: {len(r.history.ops)} calls, {sum(r.faults.values())} faults, "
            f"{len(r.anomalies)} anomalies, converged {conv}",
            flush=True,
        )
        if args.plot and not results:
            plot(r, args.plot)
        results.append(r)
        seed += 1
    print()
    print(table(results))
    if failed:
        print(f"runs that failed to complete (not checked): seeds {failed}")
    if args.plot and results:
        print(f"timeline of seed {results[0].seed}: {args.plot}")
    return 1 if failed or any(r.anomalies for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
