"""Reading eval rows, deriving gold from patches, and finding repositories."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from indexer.facts import Definition, FileFacts
from navbot.evaluation.data import (
    changed_lines,
    files_from_patch,
    find_repository,
    gold_symbols,
    load_dataset,
    select,
    spans_from_patch,
)
from tests.evalfixture import write_jsonl

PATCH = '''diff --git a/pkg/mod.py b/pkg/mod.py
--- a/pkg/mod.py
+++ b/pkg/mod.py
@@ -1,3 +1,3 @@
-import os
+import os, sys
 import re
 import json
@@ -9,4 +9,5 @@ class Thing:
     def run(self):
         x = 1
-        return x
+        y = 2
+        return x + y
 # end
diff --git a/pkg/old.py b/pkg/old.py
deleted file mode 100644
--- a/pkg/old.py
+++ /dev/null
@@ -1,2 +0,0 @@
-def gone():
-    pass
diff --git a/pkg/new.py b/pkg/new.py
new file mode 100644
--- /dev/null
+++ b/pkg/new.py
@@ -0,0 +1 @@
+VALUE = 1
'''


def test_changed_lines_and_files() -> None:
    assert files_from_patch(PATCH) == ["pkg/mod.py", "pkg/old.py", "pkg/new.py"]
    lines = changed_lines(PATCH)
    assert lines["pkg/mod.py"] == {1, 11}
    assert lines["pkg/old.py"] == {1, 2}


def test_spans_from_patch_use_the_innermost_definition() -> None:
    facts = {"pkg/mod.py": FileFacts("pkg/mod.py", "b1", "python", 100, 12, defs=[
        Definition("Thing", "Thing", "class", 4, 12),
        Definition("run", "Thing.run", "method", 9, 11),
    ])}
    spans = spans_from_patch(PATCH, facts)
    assert spans["pkg/mod.py"] == ["impl", "Thing.run"]
    assert spans["pkg/old.py"] == ["impl"]  # no facts for a file that is gone
    assert gold_symbols(spans) == [("pkg/mod.py", "Thing.run")]


def test_rows_in_both_shapes_and_bad_rows(tmp_path: Path) -> None:
    base = {"repo": "o/n", "base_commit": "abc", "problem_statement": "text"}
    data = write_jsonl(tmp_path / "d.jsonl", [
        {**base, "instance_id": "lists", "gold_files": ["a.py"], "gold_spans": {"a.py": ["f"]}},
        {**base, "instance_id": "strings", "gold_files": json.dumps(["b.py"]),
         "gold_spans": json.dumps({"b.py": ["g"]})},
        {**base, "instance_id": "patch-only", "patch": PATCH},
        {**base, "instance_id": "no-gold"},
        {**base, "instance_id": "bad-gold", "gold_files": {"a.py": 1}},
        "[1, 2]",
        "",
    ])
    dataset = load_dataset(data)
    assert [i.instance_id for i in dataset.instances] == ["lists", "strings", "patch-only"]
    assert dataset.instances[1].gold_files == ["b.py"]
    assert dataset.instances[1].gold_spans == {"b.py": ["g"]}
    assert dataset.instances[2].gold_files == ["pkg/mod.py", "pkg/old.py", "pkg/new.py"]
    assert dataset.instances[2].gold_spans is None
    reasons = {s.instance_id: s.reason for s in dataset.skipped}
    assert "neither gold_files nor patch" in reasons["no-gold"]
    assert "not a list of paths" in reasons["bad-gold"]
    assert "not a JSON object" in reasons["line 6"]
    assert select(dataset.instances, ids=["strings", "lists"], limit=1)[0].instance_id == "lists"


def test_find_repository_layouts(tmp_path: Path) -> None:
    work = tmp_path / "a+b"
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    assert find_repository(tmp_path, "a/b") == work
    bare = tmp_path / "c" / "d" / "repo"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    assert find_repository(tmp_path, "c/d") == bare
    assert find_repository(tmp_path, "x/y") is None
