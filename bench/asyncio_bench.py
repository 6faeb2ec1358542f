#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""asyncio's side of the workloads of docs/benchmarks.md that corio_bench runs for corio:
W1 task churn, W2 fan-out, W3 timers, W6 queue ping-pong, with the same parameters and the
same one-line output, on asyncio's own loop or on uvloop's.

    asyncio_bench.py [--loop asyncio|uvloop] [--quick] [W1|W2|W3|W6]...  (all when none is named)

--quick runs smaller sizes (W1 200,000; W2 20,000; W3 100,000 only; W6 200,000) for a check
that takes seconds; its figures are not the suite's. The W2 and W3 lines end in
bytes_per_op, the memory per task worked out from rss_kb and the RSS before the tasks.

Each workload runs in its own asyncio.Runner on a fresh loop. Every result is checked; a
wrong one exits with an error. Without the uvloop module, --loop uvloop prints one line
saying which package to install, and exits 0.
"""
import argparse
import asyncio
import resource
import sys
import time

IMPL = "asyncio"


def report(workload, n, seconds, per_op_ns, baseline_kb=None):
    """baseline_kb: the RSS before the workload's tasks were made; given, the line ends in
    the bytes per task that the peak RSS grew by beyond it."""
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    extra = ""
    if baseline_kb is not None:
        extra = f" bytes_per_op={round((rss_kb - baseline_kb) * 1024 / n)}"
    print(f"workload={workload} impl={IMPL} n={n} seconds={seconds:.4f} "
          f"per_op_ns={per_op_ns:.1f} rss_kb={rss_kb}{extra}", flush=True)


def current_rss_kb():
    """The RSS now, not the peak that ru_maxrss gives: the second field of /proc/self/statm
    is the resident pages."""
    with open("/proc/self/statm") as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * resource.getpagesize() // 1024


def check(ok, message):
    if not ok:
        sys.exit(f"asyncio_bench: {message}")


async def trivial(i):
    return i


async def task_churn(n):
    """W1: create and await N trivial coroutines in a row, inline and as tasks."""
    total = 0
    start = time.perf_counter()
    for i in range(n):
        total += await trivial(i)
    inline_s = time.perf_counter() - start
    report("W1-await", n, inline_s, inline_s * 1e9 / n)

    start = time.perf_counter()
    for i in range(n):
        total += await asyncio.create_task(trivial(i))
    spawn_s = time.perf_counter() - start
    report("W1-spawn", n, spawn_s, spawn_s * 1e9 / n)
    check(total == n * (n - 1), "W1: wrong sum")


async def yield_once():
    await asyncio.sleep(0)
    return 1


async def fan_out(n):
    """W2: N tasks that each yield once, gathered."""
    baseline_kb = current_rss_kb()  # read before the clock starts, so it is not timed
    start = time.perf_counter()
    results = await asyncio.gather(*[yield_once() for _ in range(n)])
    s = time.perf_counter() - start
    check(sum(results) == n, "W2: tasks were lost")
    report("W2", n, s, s * 1e9 / n, baseline_kb)


async def sleep_for(ms):
    await asyncio.sleep(ms / 1000)
    return 1


async def timers(n):
    """W3: N concurrent sleeps of x % 100 ms, x an LCG from seed 12345; the figure is the
    wall time beyond the longest sleep (0.1 s), per task."""
    x = 12345
    baseline_kb = current_rss_kb()
    start = time.perf_counter()
    sleeps = []
    for _ in range(n):
        x = (x * 1103515245 + 12345) % (1 << 31)
        sleeps.append(sleep_for(x % 100))
    results = await asyncio.gather(*sleeps)
    s = time.perf_counter() - start
    check(sum(results) == n, "W3: sleepers were lost")
    report("W3", n, s, (s - 0.1) * 1e9 / n, baseline_kb)


async def produce(q, n):
    for i in range(n):
        await q.put(i)


async def consume(q, n):
    total = 0
    for _ in range(n):
        total += await q.get()
    return total


async def queue_ping_pong(n):
    """W6: two tasks exchange N messages through a queue of size 1."""
    q = asyncio.Queue(maxsize=1)
    start = time.perf_counter()
    _, total = await asyncio.gather(produce(q, n), consume(q, n))
    s = time.perf_counter() - start
    check(total == n * (n - 1) // 2, "W6: messages were lost")
    report("W6", n, s, s * 1e9 / n)


WORKLOADS = {
    "W1": [(task_churn, 1_000_000)],
    "W2": [(fan_out, 100_000)],
    "W3": [(timers, 100_000), (timers, 1_000_000)],
    "W6": [(queue_ping_pong, 1_000_000)],
}

# --quick: the same workloads, smaller, in the same order.
QUICK_WORKLOADS = {
    "W1": [(task_churn, 200_000)],
    "W2": [(fan_out, 20_000)],
    "W3": [(timers, 100_000)],
    "W6": [(queue_ping_pong, 200_000)],
}


def main():
    global IMPL
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes: W1 200,000, W2 20,000, W3 100,000, W6 200,000")
    parser.add_argument("workloads", nargs="*", help="W1 W2 W3 W6 (all when none)")
    args = parser.parse_args()
    unknown = [w for w in args.workloads if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload {unknown[0]}; the names are {' '.join(WORKLOADS)}")
    loop_factory = None
    if args.loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            print("# uvloop: not installed (apt-get install python3-uvloop)")
            return
        loop_factory = uvloop.new_event_loop
    IMPL = args.loop
    for name, runs in (QUICK_WORKLOADS if args.quick else WORKLOADS).items():
        if args.workloads and name not in args.workloads:
            continue
        for workload, n in runs:
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                runner.run(workload(n))


if __name__ == "__main__":
    main()
