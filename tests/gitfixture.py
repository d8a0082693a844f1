"""Real git repositories built by the tests: commits by several authors, a merge, a squash
commit, a closing reference, a rename and a deletion."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

AUTHORS = {
    "ada": ("Ada Lovelace", "ada@example.com"),
    "bob": ("Bob Builder", "bob@example.com"),
}


class GitFixture:
    """A throwaway repository with helpers to write files and commit as someone."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, author: str = "ada") -> str:
        """Run git in the repository as `author` and return its stdout."""
        name, email = AUTHORS[author]
        env = {**os.environ, "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
               "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email,
               "GIT_AUTHOR_DATE": self._date(), "GIT_COMMITTER_DATE": self._date()}
        result = subprocess.run(["git", "-C", str(self.path), *args], env=env, check=True,
                                capture_output=True, text=True)
        return result.stdout.strip()

    _tick = 0

    def _date(self) -> str:
        # Distinct, increasing timestamps keep git's commit order deterministic.
        return f"{1_700_000_000 + 60 * self._tick} +0000"

    def write(self, files: dict[str, str | None]) -> None:
        """Write (or, with None, delete) files in the work tree and stage them."""
        for name, content in files.items():
            target = self.path / name
            if content is None:
                self.git("rm", "-q", name)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
            self.git("add", name)

    def commit(self, message: str, files: dict[str, str | None] | None = None,
               author: str = "ada") -> str:
        """Commit `files` with `message` and return the new sha."""
        self._tick += 1
        if files:
            self.write(files)
        self.git("commit", "-q", "--allow-empty", "-m", message, author=author)
        return self.git("rev-parse", "HEAD")


APP = '''"""The application."""
from shapes.core import Shape, area_of


def main():
    return area_of(Shape())
'''
CORE = '''"""Core shapes."""


class Shape:
    """A shape."""

    def area(self):
        return 0


def area_of(shape):
    return shape.area()
'''
CIRCLE = '''from .core import Shape


class Circle(Shape):
    def area(self):
        return 3
'''


def build_history_repo(path: Path) -> tuple[GitFixture, list[str]]:
    """The standard fixture: returns the repository and its commits, oldest first."""
    repo = GitFixture(path)
    shas = [repo.commit("Initial shapes", {
        "app.py": APP, "shapes/__init__.py": "", "shapes/core.py": CORE,
        "README.md": "# Shapes\n", "logo.png": "\0PNG binary",
    })]
    shas.append(repo.commit("Add circles; fixes #3", {
        "shapes/circle.py": CIRCLE, "shapes/core.py": CORE + "\n\nUNIT = 1\n",
    }, author="bob"))
    repo.git("checkout", "-q", "-b", "feature")
    shas.append(repo.commit("Document circles\n\nSee #4.", {
        "docs/circle.md": "Circles are round.\n", "shapes/circle.py": CIRCLE + "\n# round\n",
    }, author="bob"))
    repo.git("checkout", "-q", "main")
    shas.append(repo.commit("Tidy app", {"app.py": APP + "\n\nVERSION = 2\n"}))
    repo._tick += 1
    repo.git("merge", "-q", "--no-ff", "feature", "-m",
             "Merge pull request #7 from bob/feature\n\nDocument circles")
    shas.append(repo.git("rev-parse", "HEAD"))
    shas.append(repo.commit("Rename core to base (#12)", {
        "shapes/core.py": None, "shapes/base.py": CORE + "\n\nUNIT = 1\n",
        "app.py": APP.replace("shapes.core", "shapes.base") + "\n\nVERSION = 2\n",
        "shapes/circle.py": CIRCLE.replace(".core", ".base") + "\n# round\n",
    }))
    shas.append(repo.commit("Drop the readme; closes owner/other#5", {"README.md": None},
                            author="bob"))
    return repo, shas
