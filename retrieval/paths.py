"""What kind of file a path names: one rule, asked by ranking, calibration and suggestions."""

from __future__ import annotations


def is_test_path(path: str) -> bool:
    """Whether `path` looks like a test file (tests rarely need the fix)."""
    parts = path.lower().split("/")
    name = parts[-1]
    return (any(p in ("test", "tests", "testing") for p in parts[:-1])
            or name.startswith("test_") or name.endswith(("_test.py", "_tests.py"))
            or name == "conftest.py")
