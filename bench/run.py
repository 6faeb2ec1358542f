#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The benchmark suite's runner: every workload of docs/benchmarks.md with every
implementation that is built or installed, interleaved round-robin so that the machine's drift
hits them alike, the median of the rounds per figure, one table per workload with each
implementation's ratio to corio, a CSV and a chart.

    bench/run.py BUILD_DIR [--quick] [--rounds N] [--only W1,W4] [--results DIR]

BUILD_DIR is a CMake build with the `bench` target built (make bench does both). Progress goes
to stderr, the tables to stdout and to RESULTS/<date>.md, the figures of every round to
RESULTS/<date>.csv, the chart to RESULTS/<date>.svg (with gnuplot). A quick run writes
<date>-quick.*. A program that fails (a wrong sum, a server that does not start or stop)
is reported and the run goes on; the exit status is then 1.
"""

import argparse
import dataclasses
import datetime
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYTHON = "/usr/bin/python3"  # Debian's, where python3-uvloop installs


@dataclasses.dataclass
class Panel:
    """One table and one chart panel: a workload's figure, and the columns shown beside it."""

    key: str
    metric: str
    title: str
    extras: tuple = ()
    higher_is_better: bool = False


PANELS = [
    Panel("W1-await", "per_op_ns", "W1 co_await a trivial coroutine: ns each"),
    Panel("W1-spawn", "per_op_ns", "W1 spawn and await it: ns each"),
    Panel("W2", "per_op_ns", "W2 fan-out of tasks yielding once: ns per task",
          (("bytes_per_op", "B/task"),)),
    Panel("W3-100k", "per_op_ns", "W3 100k sleepers: overhead ns per sleeper",
          (("bytes_per_op", "B/sleeper"),)),
    Panel("W3-1M", "per_op_ns", "W3 1M sleepers: overhead ns per sleeper",
          (("bytes_per_op", "B/sleeper"),)),
    Panel("W6", "per_op_ns", "W6 queue ping-pong: ns per message"),
    Panel("W4", "server_cpu_us_per_request", "W4 echo, 50 connections: server CPU µs/request",
          (("requests_per_s", "requests/s"), ("p99_us", "p99 µs"),
           ("client_cpu_percent", "client CPU %"))),
    Panel("W5", "server_cpu_ms_per_gib", "W5 echo, one 1 GiB stream: server CPU ms/GiB",
          (("gb_per_s", "GB/s"), ("client_cpu_percent", "client CPU %"))),
    Panel("T1", "per_op_ns", "T1 to_thread round trip: ns each"),
    Panel("T2", "concurrent", "T2 blocking calls side by side (higher is better)",
          higher_is_better=True),
    Panel("S1-1", "per_op_ns", "S1 TCP ping-pong, 1 connection: ns per round trip"),
    Panel("S1-50", "per_op_ns", "S1 TCP ping-pong, 50 connections: ns per round trip"),
]
PANEL = {panel.key: panel for panel in PANELS}
GROUPS = ["W1", "W2", "W3", "W6", "W4", "T1", "T2", "S1"]  # W4 runs W5 on the same server
QUICK_GROUPS = ["W1", "W2", "W3", "W6", "W4"]


@dataclasses.dataclass
class Impl:
    """An implementation: the command running its compute workloads, the command starting its
    echo server, or both; `missing` says why it cannot run here."""

    name: str
    groups: tuple
    command: list = None
    server: list = None
    env: dict = None
    missing: str = None


def implementations(build):
    bench = build / "bench"

    def binary(name, package):
        path = bench / name
        return path, None if path.exists() else f"not built ({package})"

    corio, corio_missing = binary("corio_bench", "make bench builds it")
    echo_server = build / "examples" / "echo_server"
    asio, asio_missing = binary("asio_bench", "apt-get install libasio-dev, then make bench")
    asio_server = bench / "asio_echo_server"
    uv, uv_missing = binary("uv_bench", "apt-get install libuv1-dev, then make bench")
    uv_server = bench / "uv_echo_server"
    uring_server, uring_missing = binary("c_uring_echo_server", "corio built without liburing-dev")
    python_missing = None if os.access(PYTHON, os.X_OK) else "not installed (apt-get install python3)"
    uvloop_missing = python_missing or uvloop_check()

    impls = []
    for backend in ("epoll", "io_uring"):
        impls.append(Impl(f"corio-{backend}", tuple(GROUPS), [str(corio)],
                          [str(echo_server), "--port", "0", "--backend", backend],
                          {"CORIO_BACKEND": backend}, corio_missing))
    impls += [
        Impl("asio", ("W1", "W2", "W3", "W6", "W4"), [str(asio)], [str(asio_server), "0"],
             missing=asio_missing),
        Impl("libuv", ("W3", "W4"), [str(uv)], [str(uv_server), "0"], missing=uv_missing),
        Impl("c-epoll", ("W4",), server=[str(bench / "c_echo_server"), "0"]),
        Impl("c-io_uring", ("W4",), server=[str(uring_server), "0", "plain"],
             missing=uring_missing),
    ]
    for loop, missing in (("asyncio", python_missing), ("uvloop", uvloop_missing)):
        impls.append(Impl(loop, ("W1", "W2", "W3", "W6", "W4"),
                          [PYTHON, str(HERE / "asyncio_bench.py"), "--loop", loop],
                          [PYTHON, str(HERE / "asyncio_echo_server.py"), "--loop", loop, "0"],
                          missing=missing))
    return impls


def uvloop_check():
    found = subprocess.run([PYTHON, "-c", "import uvloop"], capture_output=True).returncode == 0
    return None if found else "not installed (apt-get install python3-uvloop)"


def parse(line):
    """A figure line, `workload=W2 impl=corio-epoll n=100000 ...`, as a dict; None otherwise."""
    if not line.startswith("workload="):
        return None
    return dict(field.split("=", 1) for field in line.split())


def panel_key(fields):
    workload = fields["workload"]
    if workload == "W3":
        return "W3-100k" if fields["n"] == "100000" else "W3-1M"
    if workload == "S1":
        return f"S1-{fields['connections']}"
    return workload


class Run:
    """The state of one run: the figures gathered so far, progress and failures."""

    def __init__(self, args):
        self.args = args
        self.figures = {}  # (panel, impl) -> {metric: {round: value}}
        self.round = 0
        self.failures = []
        self.notes = []
        self.started = time.monotonic()

    def progress(self, step, steps, what):
        elapsed = int(time.monotonic() - self.started)
        print(f"[{step:3}/{steps}  {elapsed // 60}:{elapsed % 60:02}] {what}",
              file=sys.stderr, flush=True)

    def record(self, output, impl_name):
        for line in output.splitlines():
            if line.startswith("#"):  # a backend this machine refuses, said by the program
                self.note(f"{impl_name}: {line.lstrip('# ')}")
            fields = parse(line)
            if fields is None:
                continue
            figures = self.figures.setdefault((panel_key(fields), fields["impl"]), {})
            for metric, value in fields.items():
                try:
                    figure = float(value)
                except ValueError:  # workload=, impl=
                    continue
                figures.setdefault(metric, {})[self.round] = figure

    def note(self, text):
        if text not in self.notes:
            self.notes.append(text)
            print(f"# {text}", file=sys.stderr, flush=True)

    def fail(self, what, detail):
        self.failures.append(what)
        print(f"FAILED: {what}\n{detail.rstrip()}", file=sys.stderr, flush=True)

    def compute(self, impl, group):
        argv = impl.command + (["--quick"] if self.args.quick else []) + [group]
        env = dict(os.environ, **(impl.env or {}))
        done = subprocess.run(argv, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            self.fail(f"{group} {impl.name}", done.stdout + done.stderr)
        self.record(done.stdout, impl.name)

    def serve(self, impl):
        """W4 then W5 against a fresh server, stopped with SIGTERM; it must exit with 0."""
        with tempfile.TemporaryFile("w+") as out:
            server = subprocess.Popen(impl.server, stdout=out, stderr=subprocess.STDOUT)
            port = self.wait_for_port(server, out)
            if port is None:
                server.kill()
                server.wait()
                out.seek(0)
                self.fail(f"W4 {impl.name}: the server did not start", out.read())
                return
            bench = self.args.build / "bench"
            target = [impl.name, "127.0.0.1", port, str(server.pid)]
            seconds = "2" if self.args.quick else "5"
            for argv in ([bench / "echo_load", *target, "50", "64", "1", seconds],
                         [bench / "echo_stream", *target, "1"]):
                done = subprocess.run([str(a) for a in argv], capture_output=True, text=True)
                if done.returncode != 0:
                    self.fail(f"{argv[0].name} against {impl.name}", done.stdout + done.stderr)
                self.record(done.stdout, impl.name)
            server.send_signal(signal.SIGTERM)
            try:
                status = server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                status = server.wait()
            if status != 0:
                out.seek(0)
                self.fail(f"W4 {impl.name}: the server exited with status {status}", out.read())

    @staticmethod
    def wait_for_port(server, out):
        for _ in range(200):
            out.seek(0)
            for line in out.read().splitlines():
                if line.startswith("listening on ") and ":" in line:
                    return line.rsplit(":", 1)[1].strip()
            if server.poll() is not None:
                return None
            time.sleep(0.05)
        return None

    def execute(self, impls):
        groups = [g for g in (QUICK_GROUPS if self.args.quick else GROUPS)
                  if not self.args.only or g in self.args.only]
        runnable = [i for i in impls if not i.missing]
        for impl in impls:
            if impl.missing and any(g in impl.groups for g in groups):
                self.note(f"{impl.name}: {impl.missing}")
        jobs = [(g, i) for g in groups for i in runnable if g in i.groups]
        steps = len(jobs) * self.args.rounds
        step = 0
        for round_ in range(self.args.rounds):
            self.round = round_
            for group in groups:
                # Each round starts the list at another implementation, so none is always first.
                members = [i for i in runnable if group in i.groups]
                shift = round_ % len(members) if members else 0
                for impl in members[shift:] + members[:shift]:
                    step += 1
                    label = "W4+W5" if group == "W4" else group
                    self.progress(step, steps,
                                  f"{label} {impl.name} (round {round_ + 1}/{self.args.rounds})")
                    if group == "W4":
                        self.serve(impl)
                    else:
                        self.compute(impl, group)

    def median(self, key, impl, metric):
        values = self.figures.get((key, impl), {}).get(metric)
        return statistics.median(values.values()) if values else None


def number(value):
    if value is None:
        return "–"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def reference(run, key):
    """The corio figure a panel's ratios are taken against: io_uring's, else epoll's."""
    for impl in ("corio-io_uring", "corio-epoll"):
        value = run.median(key, impl, PANEL[key].metric)
        if value:
            return impl, value
    return None, None


def tables(run):
    """One Markdown table per workload, fastest first."""
    lines = []
    for panel in PANELS:
        impls = [impl for key, impl in run.figures if key == panel.key]
        if not impls:
            continue
        ref_impl, ref = reference(run, panel.key)
        impls.sort(key=lambda i: run.median(panel.key, i, panel.metric) or float("inf"),
                   reverse=panel.higher_is_better)
        header = ["implementation", panel.metric, f"× {ref_impl or 'corio'}"]
        header += [title for _, title in panel.extras]
        lines += [f"### {panel.title}", "", "| " + " | ".join(header) + " |",
                  "|" + "---|" * len(header)]
        for impl in impls:
            value = run.median(panel.key, impl, panel.metric)
            ratio = f"{value / ref:.2f}" if value is not None and ref else "–"
            row = [impl, number(value), ratio]
            for metric, _ in panel.extras:
                extra = run.median(panel.key, impl, metric)
                cell = number(extra)
                if metric == "client_cpu_percent" and extra is not None and extra >= 95:
                    cell += " (client saturated)"
                row.append(cell)
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    return lines


def machine():
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} CPUs, Linux {platform.release()}"


def write_csv(run, path):
    rounds = run.args.rounds
    with path.open("w") as f:
        f.write("workload,impl,metric,median," + ",".join(f"round_{r + 1}" for r in range(rounds)))
        f.write("\n")
        for (key, impl), metrics in sorted(run.figures.items()):
            for metric, values in metrics.items():
                cells = [key, impl, metric, f"{statistics.median(values.values()):g}"]
                cells += [f"{values[r]:g}" if r in values else "" for r in range(rounds)]
                f.write(",".join(cells) + "\n")


def chart(run, path, title):
    """One panel per workload, bars of each implementation's median; a log scale where the
    figures span more than 30×. corio's bars are blue, the plain C servers' grey."""
    gnuplot = shutil.which("gnuplot")
    if gnuplot is None:
        run.note("chart: gnuplot not installed (apt-get install gnuplot-nox)")
        return None
    panels = [p for p in PANELS if any(key == p.key for key, _ in run.figures)]
    columns = 3
    rows = (len(panels) + columns - 1) // columns
    script = [
        f"set terminal svg size 1500,{rows * 380} dynamic noenhanced font 'sans,11' "
        "background rgb 'white'",
        f"set output '{path}'",
        "set style fill solid 0.85 border -1",
        "set boxwidth 0.7",
        "set xtics rotate by -35 left nomirror",
        "set grid ytics",
        "unset key",
        "set linetype 1 lc rgb '#1f6fd0'",
        "set linetype 2 lc rgb '#8a8a8a'",
        "set linetype 3 lc rgb '#e08a2c'",
        f"set multiplot layout {rows},{columns} title '{title} (lower is better; for T2 higher)'",
    ]
    for n, panel in enumerate(panels):
        impls = [impl for key, impl in run.figures if key == panel.key]
        values = [(impl, run.median(panel.key, impl, panel.metric)) for impl in impls]
        values = sorted((v for v in values if v[1]), key=lambda v: v[1])
        script.append(f"$d{n} << EOD")
        for x, (impl, value) in enumerate(values):
            colour = 1 if impl.startswith("corio") else 2 if impl.startswith("c-") else 3
            script.append(f'{x} "{impl}" {value} {colour} "{number(value)}"')
        script.append("EOD")
        spread = values[-1][1] / values[0][1] if values else 1
        script.append("set logscale y" if spread > 30 else "unset logscale y")
        script.append("set yrange [*:*]" if spread > 30 else "set yrange [0:*]")
        script.append(f"set title '{panel.title}'")
        script.append(f"plot $d{n} using 1:3:4:xtic(2) with boxes lc variable, "
                      f"$d{n} using 1:3:5 with labels offset 0,0.7")
    script.append("unset multiplot")
    done = subprocess.run([gnuplot], input="\n".join(script) + "\n", capture_output=True,
                          text=True)
    if done.returncode != 0:
        run.fail("chart", done.stderr)
        return None
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("build", type=Path, help="the CMake build directory")
    parser.add_argument("--quick", action="store_true", help="reduced sizes, one round")
    parser.add_argument("--rounds", type=int, help="rounds (default 3, quick 1)")
    parser.add_argument("--only", help="comma-separated workload groups, e.g. W1,W4")
    parser.add_argument("--results", type=Path, default=HERE / "results")
    args = parser.parse_args()
    args.build = args.build.resolve()
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.only = args.only.split(",") if args.only else None
    if args.only:
        unknown = [g for g in args.only if g not in GROUPS]
        if unknown:
            parser.error(f"unknown workload group {', '.join(unknown)} (known: "
                         f"{', '.join(GROUPS)}; W4 runs W5 too)")
    if not (args.build / "bench" / "echo_load").exists():
        parser.error(f"{args.build} has no bench/echo_load: build the bench target first")

    run = Run(args)
    run.execute(implementations(args.build))

    today = datetime.date.today().isoformat()
    stem = args.results / (today + ("-quick" if args.quick else ""))
    args.results.mkdir(parents=True, exist_ok=True)
    command = "make bench QUICK=1" if args.quick else "make bench"
    header = [f"# corio benchmarks, {today}", "",
              f"`{command}` on {machine()}; median of {args.rounds} "
              f"round{'s' if args.rounds > 1 else ''}, implementations interleaved. "
              "× is the figure over corio's (io_uring backend); lower is better except T2.", ""]
    header += [f"- {note}" for note in run.notes] + ([""] if run.notes else [])
    report = header + tables(run)
    print("\n".join(report))
    stem.with_suffix(".md").write_text("\n".join(report) + "\n")
    write_csv(run, stem.with_suffix(".csv"))
    drawn = chart(run, stem.with_suffix(".svg"), f"corio benchmarks, {today}: {machine()}")
    print(f"results: {stem}.md, {stem}.csv" + (f", {drawn}" if drawn else ""), file=sys.stderr)
    if run.failures:
        print(f"{len(run.failures)} failed: " + "; ".join(run.failures), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
