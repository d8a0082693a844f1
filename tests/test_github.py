"""bot.github and bot.clone over real HTTP against the local GitHub double."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.clone import head_commit, sync_mirror
from bot.github import GitHubApp, InstallationClient, RepoClient
from navbot.core.config import Settings, load_settings
from navbot.core.errors import (
    CloneError,
    GitHubAuthError,
    GitHubError,
    RateLimitedError,
    RepositoryError,
)
from tests.gitfixture import GitFixture
from tests.github_double import BOT_LOGIN, GitHubDouble

REPO = "octo/shapes"
TOKEN_PATH = r"^/app/installations/\d+/access_tokens$"


class FakeClock:
    """A clock the test moves forward by hand."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def git_repo(tmp_path: Path) -> GitFixture:
    repo = GitFixture(tmp_path / "shapes")
    repo.commit("Initial shapes", {"README.md": "# Shapes\n", "shapes/core.py": "X = 1\n"})
    return repo


@pytest.fixture
def github(clock: FakeClock, git_repo: GitFixture) -> Iterator[GitHubDouble]:
    with GitHubDouble(clock=clock) as double:
        double.add_installation(1, "octo")
        double.add_repo(1, REPO, git_repo.path)
        yield double


@pytest.fixture
def settings(tmp_path: Path, github: GitHubDouble) -> Settings:
    return load_settings(home=tmp_path / "home", **github.settings_overrides())


@pytest.fixture
def app(settings: Settings, clock: FakeClock) -> GitHubApp:
    return GitHubApp(settings, clock=clock)


@pytest.fixture
def client(app: GitHubApp) -> InstallationClient:
    return app.installation(1)


@pytest.fixture
def repo(client: InstallationClient) -> RepoClient:
    return client.repo(REPO)


def test_jwt_is_accepted_and_the_token_is_cached(app: GitHubApp, github: GitHubDouble,
                                                 client: InstallationClient) -> None:
    claims = jwt.decode(app.jwt(), github.public_key, algorithms=["RS256"])
    assert claims["iss"] == str(github.app_id)
    assert claims["exp"] - claims["iat"] == 600
    token = app.installation_token(1)
    assert token.startswith("ghs_")
    refs = client.repositories()
    assert [(r.full_name, r.default_branch, r.private) for r in refs] == [(REPO, "main", True)]
    assert refs[0].clone_url == f"{github.url}/git/{REPO}.git"
    assert client.repo(REPO).ref() == refs[0]
    assert client.token() == token
    assert len(github.requests_to("POST", TOKEN_PATH)) == 1
    assert all(r.has_auth for r in github.requests_log)


def test_the_token_is_refreshed_five_minutes_before_it_expires(
        app: GitHubApp, github: GitHubDouble, repo: RepoClient, clock: FakeClock) -> None:
    github.add_issue(REPO, 1, "Circles are wrong")
    first = app.installation_token(1)
    clock.advance(54 * 60)
    assert app.installation_token(1) == first
    clock.advance(2 * 60)
    assert repo.issue(1).title == "Circles are wrong"
    second = app.installation_token(1)
    assert second != first
    assert len(github.requests_to("POST", TOKEN_PATH)) == 2


@pytest.mark.parametrize(("overrides", "named"), [
    ({"private_key": None}, "NAVBOT_PRIVATE_KEY"),
    ({"private_key": None, "private_key_path": "missing.pem"}, "NAVBOT_PRIVATE_KEY_PATH"),
    ({"private_key": "not a key"}, "NAVBOT_PRIVATE_KEY"),
    ({"app_id": None}, "NAVBOT_APP_ID"),
])
def test_missing_credentials_name_the_variables_to_set(
        tmp_path: Path, github: GitHubDouble, overrides: dict[str, object], named: str) -> None:
    values = {**github.settings_overrides(), **overrides}
    settings = Settings(home=tmp_path, **values)  # type: ignore[arg-type]
    app = GitHubApp(settings)
    with pytest.raises(GitHubAuthError, match=named):
        app.installation_token(1)
    assert github.requests_log == []


def test_a_key_github_does_not_know_is_an_auth_error(tmp_path: Path,
                                                     github: GitHubDouble) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    key_file = tmp_path / "app.pem"
    key_file.write_text(other)
    settings = load_settings(home=tmp_path, app_id=github.app_id, private_key_path=key_file,
                             github_api_url=github.url, github_allow_http=True)
    with pytest.raises(GitHubAuthError, match="401"):
        GitHubApp(settings).installation(1).repo(REPO).issue(1)


def test_issue_and_comment_round_trip(repo: RepoClient, github: GitHubDouble) -> None:
    github.add_issue(REPO, 7, "Area is wrong", None, user="renovate[bot]", state="closed",
                     state_reason="completed", labels=("bug", "shapes"))
    issue = repo.issue(7)
    assert (issue.number, issue.title, issue.body, issue.state, issue.state_reason) == (
        7, "Area is wrong", "", "closed", "completed")
    assert (issue.author, issue.author_is_bot, issue.is_pull_request) == (
        "renovate[bot]", True, False)
    assert issue.labels == ("bug", "shapes")
    assert issue.html_url.endswith(f"/{REPO}/issues/7")
    assert issue.updated_at.tzinfo is not None

    comment_id = repo.create_comment(7, "Look at shapes/core.py\n<!-- navbot -->")
    repo.edit_comment(comment_id, "Look at shapes/base.py\n<!-- navbot -->")
    repo.react(comment_id, "eyes")
    github.add_reaction(comment_id, "+1", user="alice")
    github.add_reaction(comment_id, "-1", user="bob")
    github.add_reaction(comment_id, "+1", user="carol")

    found = repo.find_comment(7, "<!-- navbot -->")
    assert found is not None
    assert (found.id, found.author) == (comment_id, BOT_LOGIN)
    assert found.body == "Look at shapes/base.py\n<!-- navbot -->"
    assert found.reactions == {"+1": 2, "-1": 1}
    [stored] = github.comments(REPO, 7)
    assert stored["user"] == {**stored["user"], "login": BOT_LOGIN, "type": "Bot"}
    assert github.writes == [
        {"action": "create_comment", "repo": REPO, "issue": 7, "comment_id": comment_id,
         "body": "Look at shapes/core.py\n<!-- navbot -->"},
        {"action": "edit_comment", "repo": REPO, "issue": 7, "comment_id": comment_id,
         "body": "Look at shapes/base.py\n<!-- navbot -->"},
        {"action": "react", "repo": REPO, "issue": 7, "comment_id": comment_id,
         "content": "eyes"},
    ]


def test_find_comment_reads_every_page(repo: RepoClient, github: GitHubDouble) -> None:
    github.add_issue(REPO, 3, "Busy thread")
    for index in range(130):
        github.add_comment(REPO, 3, f"comment {index}", user="alice")
    late = github.add_comment(REPO, 3, "found late <!-- navbot -->", user=BOT_LOGIN,
                              user_type="Bot")
    found = repo.find_comment(3, "<!-- navbot -->")
    assert found is not None and found.id == late
    assert found.reactions == {"+1": 0, "-1": 0}
    pages = github.requests_to("GET", r"/issues/3/comments$")
    assert [("page=2" in r.query) for r in pages] == [False, True]
    assert repo.find_comment(3, "<!-- absent -->") is None


def test_items_since_lists_issues_and_pull_requests(repo: RepoClient,
                                                    github: GitHubDouble) -> None:
    start = datetime(2024, 5, 1, tzinfo=UTC)
    github.add_issue(REPO, 1, "Circles leak", "area() is wrong", labels=("bug",),
                     updated_at=start)
    github.add_pull(REPO, 2, "Fix circles", "Fixes #1, closes octo/other#9, see #4.",
                    merged=True, files=[f"shapes/f{i}.py" for i in range(120)],
                    updated_at=start + timedelta(hours=2), user="bob")
    github.add_pull(REPO, 3, "Closes #5: try squares", None, merged=False,
                    updated_at=start + timedelta(hours=1))
    github.add_issue(REPO, 4, "Docs", state="closed", state_reason="not_planned",
                     updated_at=start + timedelta(hours=3))

    items = list(repo.items_since(None))
    assert [item.number for item in items] == [1, 3, 2, 4]
    issue, unmerged, merged, closed = items
    assert (issue.kind, issue.labels, issue.merged, issue.closes, issue.files) == (
        "issue", ("bug",), False, (), ())
    assert (merged.kind, merged.merged, merged.state, merged.author) == (
        "pr", True, "closed", "bob")
    assert merged.closes == (1,)
    assert merged.files == tuple(f"shapes/f{i}.py" for i in range(120))
    assert (unmerged.kind, unmerged.merged, unmerged.closes, unmerged.files, unmerged.body) == (
        "pr", False, (5,), (), "")
    assert (closed.state, closed.state_reason) == ("closed", "not_planned")
    # One list request, and per PR one PR request (+ files when merged): no re-fetching.
    assert len(github.requests_to("GET", r"/issues/\d+$")) == 0
    assert len(github.requests_to("GET", r"/pulls/\d+$")) == 2

    later = list(repo.items_since(start + timedelta(hours=1, minutes=30)))
    assert [item.number for item in later] == [2, 4]


def test_file_text(repo: RepoClient, git_repo: GitFixture) -> None:
    first = git_repo.git("rev-parse", "HEAD")
    git_repo.commit("Rename", {"README.md": "# Shapes, renamed\n"})
    assert repo.file_text("README.md") == "# Shapes, renamed\n"
    assert repo.file_text("README.md", ref=first) == "# Shapes\n"
    assert repo.file_text("shapes/core.py") == "X = 1\n"
    assert repo.file_text("missing.txt") is None
    assert repo.file_text("shapes") is None


def test_a_server_error_is_retried(repo: RepoClient, github: GitHubDouble) -> None:
    github.add_issue(REPO, 1, "Flaky")
    github.fail_next("GET", r"/issues/1$", 500)
    assert repo.issue(1).title == "Flaky"
    assert [r.status for r in github.requests_to("GET", r"/issues/1$")] == [500, 200]


def test_other_errors_are_github_errors_with_status_and_message(
        repo: RepoClient, github: GitHubDouble) -> None:
    github.add_issue(REPO, 1, "Long")
    github.fail_next("POST", r"/issues/1/comments$", 422, message="Body is too long")
    with pytest.raises(GitHubError, match=r"422 while commenting.*Body is too long") as info:
        repo.create_comment(1, "x")
    assert not isinstance(info.value, RateLimitedError)
    with pytest.raises(GitHubError, match="404 while reading octo/shapes#99"):
        repo.issue(99)
    github.fail_next("GET", r"/issues/1$", 403, message="Resource not accessible by integration")
    with pytest.raises(GitHubError, match=r"403 .*Resource not accessible") as info:
        repo.issue(1)
    assert not isinstance(info.value, RateLimitedError)
    assert [r.status for r in github.requests_to("GET", r"/issues/1$")] == [403]


def test_concurrent_callers_share_one_token(app: GitHubApp, github: GitHubDouble) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        tokens = set(pool.map(lambda _: app.installation_token(1), range(16)))
    assert len(tokens) == 1
    assert len(github.requests_to("POST", TOKEN_PATH)) == 1


def test_a_429_with_retry_after_is_waited_out(repo: RepoClient, github: GitHubDouble) -> None:
    github.add_issue(REPO, 1, "Slow down")
    github.fail_next("GET", r"/issues/1$", 429, headers={"Retry-After": "1"})
    started = time.monotonic()
    assert repo.issue(1).title == "Slow down"
    assert time.monotonic() - started >= 0.9
    assert [r.status for r in github.requests_to("GET", r"/issues/1$")] == [429, 200]


@pytest.mark.parametrize(("status", "headers", "low", "high"), [
    (403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "+600"}, 590, 610),
    (429, {"Retry-After": "120"}, 120, 120),
    (429, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "+300"}, 290, 310),
])
def test_a_lasting_rate_limit_becomes_rate_limited_error(
        repo: RepoClient, github: GitHubDouble, status: int, headers: dict[str, str],
        low: float, high: float) -> None:
    headers = {k: str(int(time.time()) + int(v)) if v.startswith("+") else v
               for k, v in headers.items()}
    github.fail_next("GET", r"/issues/1$", status, headers=headers, times=10)
    with pytest.raises(RateLimitedError) as info:
        repo.issue(1)
    assert low <= info.value.retry_after <= high
    assert len(github.requests_to("GET", r"/issues/1$")) == 1


def test_a_rate_limited_token_request_is_rate_limited_error(app: GitHubApp,
                                                           github: GitHubDouble) -> None:
    github.fail_next("POST", TOKEN_PATH, 429, headers={"Retry-After": "90"}, times=10)
    with pytest.raises(RateLimitedError) as info:
        app.installation_token(1)
    assert info.value.retry_after == 90


def _files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()]


def test_sync_mirror_clones_and_fetches_with_the_token(
        tmp_path: Path, client: InstallationClient, repo: RepoClient, github: GitHubDouble,
        git_repo: GitFixture) -> None:
    ref = repo.ref()
    token = client.token()
    dest = tmp_path / "clones" / "octo+shapes.git"
    assert sync_mirror(ref.clone_url, dest, token) == dest
    assert head_commit(dest, "main") == git_repo.git("rev-parse", "HEAD")
    assert sorted(p.name for p in dest.parent.iterdir()) == ["octo+shapes.git"]

    new = git_repo.commit("Add squares", {"shapes/square.py": "SIDE = 2\n"}, author="bob")
    git_repo.git("tag", "v1")
    sync_mirror(ref.clone_url, dest, token)
    assert head_commit(dest, "main") == new
    assert (dest / "refs" / "tags" / "v1").exists() or "refs/tags/v1" in (
        dest / "packed-refs").read_text()

    config = (dest / "config").read_text()
    assert f"url = {ref.clone_url}" in config
    secrets = [token.encode(), base64.b64encode(f"x-access-token:{token}".encode())]
    for path in _files_under(dest):
        content = path.read_bytes()
        assert not any(secret in content for secret in secrets), path
    git_requests = github.requests_to("GET", r"^/git/")
    assert git_requests and all(r.has_auth and r.status in (200, 404) for r in git_requests)
    with pytest.raises(RepositoryError, match="nope"):
        head_commit(dest, "nope")


def test_a_clone_with_a_bad_token_fails_without_leaking_it(
        tmp_path: Path, repo: RepoClient, github: GitHubDouble) -> None:
    clone_url = repo.ref().clone_url
    dest = tmp_path / "clones" / "octo+shapes.git"
    bad = "ghs_" + "f" * 36
    with pytest.raises(CloneError) as info:
        sync_mirror(clone_url, dest, bad)
    message = str(info.value)
    assert bad not in message
    assert base64.b64encode(f"x-access-token:{bad}".encode()).decode() not in message
    assert "clone" in message and "token was refused" in message
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []
    assert github.requests_to("GET", r"^/git/")[0].status == 401
    with pytest.raises(CloneError):
        sync_mirror(clone_url, dest, None)
