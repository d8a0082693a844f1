"""Bare mirrors of GitHub repositories, cloned and fetched over HTTPS with an installation token.

The token lives only in the environment of one git process: never in the git config, on
disk, in logs or in error messages. Clone URLs come from bot.github, which hands out only
those bot.token_hosts allows the token to go to (HTTPS on the GitHub host).
"""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
from pathlib import Path

from indexer.gitrepo import run_git
from navbot.core.errors import CloneError, GitTimeoutError, RepositoryError

GIT_TIMEOUT_S = 1800
_REFSPECS = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")


def sync_mirror(clone_url: str, dest: Path, token: str | None) -> Path:
    """Clone `clone_url` as a bare mirror at `dest`, or fetch into it when it exists."""
    if dest.exists():
        # The repository may have been renamed or transferred since the clone.
        _git(["-C", str(dest), "remote", "set-url", "origin", clone_url], None,
             doing=f"remote set-url in {dest}")
        _git(["-C", str(dest), "fetch", "--prune", "--quiet", "origin", *_REFSPECS], token,
             doing=f"fetch into {dest}")
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Clone beside the destination and rename: a crash never leaves a half clone at `dest`.
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
    try:
        _git(["clone", "--bare", "--quiet", clone_url, str(staging)], token,
             doing=f"clone of {clone_url}")
        try:
            staging.rename(dest)
        except OSError as exc:
            # Another worker may have finished the same clone first; its copy is as good.
            if not (dest / "HEAD").is_file():
                raise CloneError(f"cannot move the new clone to {dest}: {exc.strerror}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest


def head_commit(dest: Path, branch: str) -> str:
    """The sha of `refs/heads/<branch>` in the mirror at `dest`."""
    result = run_git(["rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}"],
                     cwd=dest)
    if result.returncode != 0:
        raise RepositoryError(f"branch {branch!r} is not in the mirror at {dest}")
    return result.stdout.decode().strip()


def _basic_credentials(token: str) -> str:
    return base64.b64encode(f"x-access-token:{token}".encode()).decode()


def _redact(text: str, token: str | None) -> str:
    if not token:
        return text
    return text.replace(_basic_credentials(token), "***").replace(token, "***")


def _git_env(token: str | None) -> dict[str, str]:
    """The environment of one git process: the token as an HTTP header, no prompts."""
    config = [("credential.helper", "")]  # an empty helper clears any configured helper
    if token:
        config.append(("http.extraHeader", f"Authorization: Basic {_basic_credentials(token)}"))
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": "",
           "GIT_HTTP_LOW_SPEED_LIMIT": "1000", "GIT_HTTP_LOW_SPEED_TIME": "60",
           "GIT_CONFIG_COUNT": str(len(config))}
    for index, (key, value) in enumerate(config):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


def _git(args: list[str], token: str | None, doing: str) -> None:
    try:
        result = run_git(args, env=_git_env(token), timeout=GIT_TIMEOUT_S)
    except GitTimeoutError:
        raise CloneError(_redact(f"git {doing} timed out after {GIT_TIMEOUT_S}s", token)) from None
    except RepositoryError as exc:
        raise CloneError(str(exc)) from None
    if result.returncode != 0:
        stderr = result.stderr.decode("utf-8", errors="replace").strip()
        # git reports a refused header as a failed attempt to prompt for a user name.
        hint = ("; the installation token was refused or has expired"
                if "could not read Username" in stderr or "Authentication failed" in stderr
                else "")
        raise CloneError(_redact(f"git {doing} failed: {stderr}{hint}", token))
