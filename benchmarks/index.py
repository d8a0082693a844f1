"""Benchmark `navbot index`: full index, incremental reindex after a one-file commit, peak RSS.

Usage:
    python benchmarks/index.py --repo /path/to/sympy.git \
        --commit e950d313a932bc6cccbc95376b3821cd2f8b5af4 [--runs 3]

The repository is never modified: the one-file commit is made with git plumbing in a
temporary shared clone. Each run indexes through the real CLI (`navbot index --json`) in a
fresh NAVBOT_HOME; peak RSS is sampled from /proc over the whole process tree (the CLI and
its parse workers). The baseline, measured in the same run, is git's own cost of reading
the same history window (`git log --numstat`), which no indexer can avoid.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def _tree_rss_kb(root: int) -> int:
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines()
                              if line.startswith("VmRSS:")))
            for task in Path(f"/proc/{pid}/task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            continue
    return total


def run_index(home: Path, repo: Path, commit: str, full: bool) -> dict:
    """Run `navbot index --json` and return its summary plus wall time and peak tree RSS."""
    cmd = [sys.executable, "-m", "navbot", "index", str(repo), "--commit", commit, "--json"]
    if full:
        cmd.append("--full")
    env = {**os.environ, "NAVBOT_HOME": str(home)}
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0

    def sample() -> None:
        nonlocal peak
        while proc.poll() is None:
            peak = max(peak, _tree_rss_kb(proc.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    out, err = proc.communicate()
    sampler.join()
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"navbot index failed: {err.decode()}")
    manifest = json.loads(next(home.glob("repos/*/manifest.json")).read_text())
    return {**json.loads(out), "wall_s": wall, "peak_rss_mb": peak / 1024,
            "timings": manifest["timings"]}


def one_file_commit(clone: Path, base: str) -> str:
    """Commit on top of `base` that appends a function to the largest Python file."""
    def git(*args: str, stdin: bytes | None = None, env: dict | None = None) -> str:
        return subprocess.run(["git", "-C", str(clone), *args], input=stdin, check=True,
                              capture_output=True, env=env).stdout.decode().strip()

    entries = [line.split(None, 4) for line in git("ls-tree", "-r", "-l", base).splitlines()]
    path = max((e for e in entries if e[4].endswith(".py")), key=lambda e: int(e[3]))[4]
    content = git("show", f"{base}:{path}").encode() + b"\n\ndef _bench_added():\n    pass\n"
    blob = git("hash-object", "-w", "--stdin", stdin=content)
    env = {**os.environ, "GIT_INDEX_FILE": str(clone / "bench.index"),
           "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
    git("read-tree", base, env=env)
    git("update-index", "--cacheinfo", f"100644,{blob},{path}", env=env)
    tree = git("write-tree", env=env)
    return git("commit-tree", tree, "-p", base, "-m", f"bench: touch {path}", env=env)


def git_log_baseline(repo: Path, commit: str, window: int) -> float:
    """Seconds git needs to list the same history window with per-file line counts."""
    started = time.perf_counter()
    subprocess.run(["git", "-C", str(repo), "log", "--numstat", "-M", "-z",
                    f"--max-count={window}", commit], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    """Run the benchmark and print a JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, required=True)
    parser.add_argument("--commit", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--window", type=int, default=20_000,
                        help="history window; must match NAVBOT_HISTORY_MAX_COMMITS")
    args = parser.parse_args()
    os.environ["NAVBOT_HISTORY_MAX_COMMITS"] = str(args.window)
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        clone = scratch / "clone"
        subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout", str(args.repo),
                        str(clone)], check=True)
        head = one_file_commit(clone, args.commit)
        full_runs, incremental_runs, baseline = [], [], []
        for run in range(args.runs):
            home = scratch / f"home-{run}"
            full_runs.append(run_index(home, clone, args.commit, full=True))
            incremental_runs.append(run_index(home, clone, head, full=False))
            baseline.append(git_log_baseline(clone, args.commit, args.window))
            (scratch / f"home-{run}").rename(scratch / f"done-{run}")

    def median(runs: list[dict], key: str) -> float:
        return statistics.median(r[key] for r in runs)

    full_s, inc_s, base_s = median(full_runs, "wall_s"), median(incremental_runs, "wall_s"), \
        statistics.median(baseline)
    stages = {k: statistics.median(r["timings"][k] for r in full_runs)
              for k in full_runs[0]["timings"]}
    inc_stages = {k: statistics.median(r["timings"][k] for r in incremental_runs)
                  for k in incremental_runs[0]["timings"]}
    report = {
        "repo": str(args.repo), "commit": args.commit, "runs": args.runs,
        "window": args.window, "cpus": os.cpu_count(),
        "counts": {k: full_runs[0][k] for k in ("files", "symbols", "edges", "commits")},
        "full_wall_s_median": round(full_s, 2),
        "incremental_wall_s_median": round(inc_s, 2),
        "git_log_baseline_s_median": round(base_s, 2),
        "full_over_git_log": round(full_s / base_s, 2),
        "incremental_over_full": round(inc_s / full_s, 3),
        "peak_rss_mb_max": round(max(r["peak_rss_mb"] for r in full_runs + incremental_runs)),
        "full_stage_s": {k: round(v, 2) for k, v in stages.items()},
        "incremental_stage_s": {k: round(v, 2) for k, v in inc_stages.items()},
        "full_wall_s_all": [round(r["wall_s"], 2) for r in full_runs],
        "incremental_wall_s_all": [round(r["wall_s"], 2) for r in incremental_runs],
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
