"""Run every benchmark and write the measured figures into ``docs/benchmarks.md``.

Each benchmark module runs in its own process (so one cannot warm another's caches), prints a markdown table and
writes its JSON under ``bench/results/``. This script records the machine and library versions, collects the tables
and replaces the generated block of ``docs/benchmarks.md`` (between the ``BEGIN GENERATED`` and ``END GENERATED``
markers), leaving the hand-written analysis around it untouched.

Run: ``python -m bench.run`` (full, about 30 minutes on 2 cores), ``python -m bench.run --quick``, or
``python -m bench.run --only localities`` (the other sections are kept as last measured).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata as md
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- BEGIN GENERATED -->", "<!-- END GENERATED -->"
PACKAGES = ["pyomo", "highspy", "spopt", "pulp", "networkx", "scipy", "numpy", "osmnx", "geopandas", "pandas"]

CASES: dict[str, tuple[str, list[str], list[str]]] = {
    "bnssg": ("The planning model on the real BNSSG dataset", ["--runs", "3"], ["--runs", "1", "--time-limit", "30"]),
    "classic": ("Classic p-median: OR-Library and against spopt", ["--repeats", "3"], ["--quick"]),
    "travel": ("Travel-time matrices: multi-source csgraph against networkx", ["--runs", "3"], ["--runs", "1"]),
    "localities": ("The interactive case: each locality planned on its own", ["--runs", "3"], ["--runs", "1"]),
}
"""Benchmark module -> (title, full-run arguments, quick-run arguments)."""


def machine() -> str:
    """The machine and versions, as markdown."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {md.version(name)}")
        except md.PackageNotFoundError:
            continue
    return (
        f"- Machine: {os.cpu_count()} logical cores ({cpu}), {platform.system()} {platform.release()}\n"
        f"- Python {platform.python_version()}; {', '.join(versions)}\n"
        f"- Written on {dt.date.today().isoformat()}; each section says when it was run (`--only` keeps the others)"
    )


def run_case(module: str, args: list[str]) -> str:
    """Run ``bench.<module>`` in a fresh interpreter and return what it printed (its markdown table)."""
    proc = subprocess.run(
        [sys.executable, "-m", f"bench.bench_{module}", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        return f"**failed** (exit {proc.returncode}):\n\n```\n{proc.stderr[-2000:]}\n```"
    # Keep the tables and summaries; drop per-instance progress lines and the HiGHS banner.
    keep = [
        line
        for line in proc.stdout.splitlines()
        if not line.startswith(("  ", "Running HiGHS", "Includes third-party", "results written"))
    ]
    return "\n".join(keep).strip()


def previous_sections(text: str) -> dict[str, str]:
    """The generated sections already in ``docs/benchmarks.md``, by benchmark module (to keep with ``--only``)."""
    if BEGIN not in text or END not in text:
        return {}
    block = text.split(BEGIN, 1)[1].split(END, 1)[0]
    titles = {f"### {title}": module for module, (title, _, _) in CASES.items()}
    out: dict[str, str] = {}
    current: str | None = None
    for line in block.splitlines():
        if line.startswith("### "):
            current = titles.get(line)
        if current is not None:
            out[current] = out.get(current, "") + line + "\n"
    return out


def main(argv: list[str] | None = None) -> None:
    """Run the benchmarks and update ``docs/benchmarks.md``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs and instances")
    parser.add_argument("--only", nargs="+", choices=sorted(CASES), help="run only these benchmarks")
    args = parser.parse_args(argv)
    command = "python -m bench.run" + (" --quick" if args.quick else "")
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    kept = previous_sections(text)
    parts = [BEGIN, "", f"Reproduce with `{command}`.", "", machine(), ""]
    for module, (title, full, quick) in CASES.items():
        if args.only and module not in args.only:
            if module in kept:  # measured by an earlier run: keep it as it was
                parts.append(kept[module].rstrip("\n") + "\n")
            continue
        print(f"running bench_{module} ...", flush=True)
        parts += [f"### {title}", "", f"`python -m bench.bench_{module} {' '.join(quick if args.quick else full)}`",
                  "", f"Run on {dt.date.today().isoformat()}.", "",
                  run_case(module, quick if args.quick else full), ""]  # fmt: skip
    parts.append(END)
    block = "\n".join(parts)
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    DOC.write_text(text, encoding="utf-8")
    print(block)


if __name__ == "__main__":
    main()
