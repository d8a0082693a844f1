"""Turning an EvalReport into the JSON object, the markdown table and the per-instance CSV."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import IO, Any

from navbot.evaluation.metrics import (
    KS_FILE,
    KS_FUNC,
    false_posts,
    percentile,
    reliability,
    risk_coverage,
    summarize,
)
from navbot.evaluation.runner import EvalReport

THRESHOLDS = tuple(round(0.1 * i, 1) for i in range(10))
HEADLINE = ([f"file_acc@{k}" for k in KS_FILE] + ["mrr"] + [f"func_acc@{k}" for k in KS_FUNC]
            + ["coverage", "precision", "latency_p50_s", "latency_p99_s"])
CSV_FIELDS = ["instance_id", "repo", "base_commit", "gold_files", "file_ranks",
              "bm25_file_ranks", "gold_funcs", "func_ranks", "bm25_func_ranks", "top5",
              "bm25_top5", "confidence", "would_post", "features", "shape", "latency_s",
              "bm25_latency_s", "index_mode", "index_s", "search_build_s", "embedded"]


def _median(values: list[float]) -> float | None:
    return percentile(values, 50)


def summary(report: EvalReport) -> dict[str, Any]:
    """The `navbot eval --json` object: navbot's metrics, with the baseline under `bm25`."""
    records = report.records
    result = summarize(records, "", report.threshold, report.listed, report.about_threshold)
    result["bm25"] = summarize(records, "bm25_", None, report.listed)
    result["ratio"] = {key: (result[key] / result["bm25"][key]
                             if result[key] is not None and result["bm25"][key] else None)
                       for key in HEADLINE}
    by_mode: dict[str, list[float]] = {"full": [], "incremental": []}
    for r in records:
        by_mode[r["index_mode"]].append(r["index_s"])
    result["index"] = {
        "full_n": len(by_mode["full"]), "full_s_median": _median(by_mode["full"]),
        "incremental_n": len(by_mode["incremental"]),
        "incremental_s_median": _median(by_mode["incremental"]),
        "search_build_s_median": _median([r["search_build_s"] for r in records]),
    }
    result["peak_rss_mb"] = round(report.peak_rss_mb, 1)
    result["threshold"] = report.threshold
    result["about_threshold"] = report.about_threshold
    result["listed_files"] = report.listed
    negatives = report.negatives
    for key, kind, split in (("foreign", "foreign", None), ("offtopic", "offtopic", "held_out"),
                             ("offtopic_fit", "offtopic", "fit")):
        counted = false_posts(negatives, kind, split, report.threshold, report.about_threshold)
        result[f"{key}_post_rate"] = counted["rate"]
        result[f"{key}_posts"], result[f"{key}_n"] = counted["posts"], counted["n"]
    result["risk_coverage"] = risk_coverage(records, THRESHOLDS, report.listed, negatives,
                                            report.about_threshold)
    result["reliability"] = reliability(records, 5, report.listed)
    result["skipped"] = [{"instance_id": s.instance_id, "reason": s.reason}
                         for s in report.skipped]
    result["interrupted"] = report.interrupted
    result["seconds"] = round(report.seconds, 1)
    return result


def _cell(value: Any, percent: bool) -> str:
    if value is None:
        return "n/a"
    if percent:
        return f"{100 * value:.1f}"
    return f"{value:.3f}"


def markdown(data: dict[str, Any]) -> str:
    """A markdown report: headline metrics beside BM25, index cost, risk-coverage table."""
    lines = [f"navbot eval: {data['n']} instances"
             + (" (INTERRUPTED: partial results)" if data["interrupted"] else ""), "",
             "| metric | navbot | BM25 | navbot/BM25 |", "|---|---|---|---|"]
    for key in HEADLINE:
        percent = not key.startswith(("latency", "mrr"))
        ratio = data["ratio"][key]
        lines.append(f"| {key}{' (%)' if percent else ''} | {_cell(data[key], percent)} | "
                     f"{_cell(data['bm25'][key], percent)} | "
                     f"{'n/a' if ratio is None else f'{ratio:.2f}'} |")
    index = data["index"]
    lines += ["", f"Function metrics count {data['n_func']} instances with symbol-level gold. "
              f"Posting: threshold {data['threshold']}, top {data['listed_files']} files listed; "
              "BM25 always posts.",
              f"Index time per instance: full {_cell(index['full_s_median'], False)} s "
              f"(n={index['full_n']}), incremental {_cell(index['incremental_s_median'], False)} s "
              f"(n={index['incremental_n']}), search build "
              f"{_cell(index['search_build_s_median'], False)} s (medians). "
              f"Peak RSS {data['peak_rss_mb']:.0f} MB. Wall time {data['seconds']:.0f} s.",
              "", f"Silence (aboutness threshold {data['about_threshold']:.2f}): "
              + "; ".join(f"{name} issues: {data[f'{key}_posts']} posts of {data[f'{key}_n']} "
                          f"({_cell(data[f'{key}_post_rate'], True)} %)"
                          for key, name in (("foreign", "foreign"),
                                            ("offtopic", "off-topic held-out"),
                                            ("offtopic_fit", "off-topic fitting half"))) + ".",
              "", "| threshold | posts | coverage (%) | precision (%) | foreign posts (%) | "
              "off-topic posts (%) |", "|---|---|---|---|---|---|"]
    for row in data["risk_coverage"]:
        lines.append(f"| {row['threshold']:.1f} | {row['posts']} | "
                     f"{_cell(row['coverage'], True)} | {_cell(row['precision'], True)} | "
                     f"{_cell(row['foreign_post_rate'], True)} | "
                     f"{_cell(row['offtopic_post_rate'], True)} |")
    lines += ["", "| confidence bin | n | mean confidence | top-3 hit rate (%) |",
              "|---|---|---|---|"]
    for row in data["reliability"]:
        lines.append(f"| {row['bin']} | {row['n']} | {row['mean_confidence']:.2f} | "
                     f"{_cell(row['hit_rate'], True)} |")
    if data["skipped"]:
        lines += ["", f"Skipped {len(data['skipped'])} rows:"]
        lines += [f"- {s['instance_id']}: {s['reason']}" for s in data["skipped"]]
    return "\n".join(lines)


SIGNAL_KEYS = ("instance_id", "repo", "gold_files", "signals", "test_files", "features",
               "shape", "gold_symbols", "symbol_signals", "about_features", "has_files",
               "lexical")


class JsonlLog:
    """Records as JSONL, one flushed line each: `signals.jsonl` (the input of
    `benchmarks/fit_params.py`, with `SIGNAL_KEYS` only) and `negatives.jsonl` (whole)."""

    def __init__(self, path: Path, keys: tuple[str, ...] | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.keys = keys
        self._handle: IO[str] = open(path, "w", encoding="utf-8")  # noqa: SIM115

    def write(self, record: dict[str, Any]) -> None:
        """Append one record (its `keys` when given)."""
        kept = record if self.keys is None else {k: record[k] for k in self.keys}
        self._handle.write(json.dumps(kept) + "\n")
        self._handle.flush()

    def close(self) -> None:
        """Close the file."""
        self._handle.close()


class CsvLog:
    """The per-instance CSV, one flushed row per instance, so a killed run keeps its rows."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle: IO[str] = open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self._writer = csv.DictWriter(self._handle, CSV_FIELDS, extrasaction="ignore")
        self._writer.writeheader()

    def write(self, record: dict[str, Any]) -> None:
        """Append one instance's row."""
        row = {key: (json.dumps(value) if isinstance(value, list | dict) else value)
               for key, value in record.items()}
        self._writer.writerow(row)
        self._handle.flush()

    def close(self) -> None:
        """Close the file."""
        self._handle.close()
