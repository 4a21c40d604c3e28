"""How long `sdsync` takes to start: `--help` of the root and of every command, beside `python -c pass`
and `dlt --help`. Prints the median wall time of a few runs of each.

    python bench/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = [
    [], ["api"], ["auth"], ["auth", "login"], ["contacts", "sync"], ["send"], ["send-whatsapp"], ["pull"], ["serve"], ["report"],
    ["emulator"], ["demo"], ["journal", "prune"], ["status"], ["doctor"],
]
TARGET_S = 0.5


def wall(command: list[str], runs: int) -> float:
    """The median wall-clock seconds of `runs` runs of a command (output discarded; must exit 0)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    bin_dir = Path(sys.executable).parent
    sdsync = shutil.which("sdsync", path=str(bin_dir)) or "sdsync"
    dlt = shutil.which("dlt", path=str(bin_dir)) or "dlt"
    rows = [("python -c pass", wall([sys.executable, "-c", "pass"], options.runs)),
            ("dlt --help", wall([dlt, "--help"], options.runs))]
    for command in COMMANDS:
        rows.append((" ".join(["sdsync", *command, "--help"]), wall([sdsync, *command, "--help"], options.runs)))
    width = max(len(name) for name, _ in rows)
    for name, seconds in rows:
        mark = "" if not name.startswith("sdsync") else ("  ok" if seconds < TARGET_S else f"  over {TARGET_S} s")
        print(f"{name:<{width}}  {seconds:6.3f} s{mark}")


if __name__ == "__main__":
    main()
