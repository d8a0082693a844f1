"""The data directory: created on first use, refused in one line when it cannot be written.

Commands check it once, up front, so a read-only disk or a home under a regular file is a
clear message naming the directory instead of a failure deep inside git, chroma or SQLite.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from navbot.core.errors import HomeError


def require_writable_home(home: Path) -> Path:
    """Create `home` if needed and prove a file can be written in it, or raise HomeError."""
    try:
        if home.exists() and not home.is_dir():
            raise HomeError(f"the data directory {home} (NAVBOT_HOME or --home) is a file, "
                            "not a directory")
        home.mkdir(parents=True, exist_ok=True)
        # Permission bits do not stop root; only an actual write says whether one works
        # (a read-only mount, an immutable directory, a parent that is a file).
        with tempfile.TemporaryFile(dir=home):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise HomeError(f"cannot write to the data directory {home} (NAVBOT_HOME or "
                        f"--home): {reason}") from None
    return home
