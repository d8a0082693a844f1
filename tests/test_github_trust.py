"""What navbot may touch and where its credentials go, over real HTTP against the GitHub double:
only its own comment, a fresh token after a refused one, tokens only to the GitHub host."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.clone import sync_mirror
from bot.comment import MARKER, Answer, FileHit, has_marker
from bot.github import GitHubApp, InstallationClient, RepoClient
from bot.pipeline import post
from bot.pipeline.env import IndexedRepo, RunEnv, Thresholds
from bot.pipeline.model import Composed
from bot.pipeline.runner import Run, RunInputs
from bot.repo_config import RepoConfig
from bot.state.records import Thread
from bot.state.runs import RunStore
from bot.state.store import StateStore
from bot.token_hosts import TokenHosts
from navbot.core.config import Settings, load_settings
from navbot.core.errors import CloneError, GitHubAuthError, TokenRefusedError, UnsafeURLError
from navbot.llm.client import RunBudget
from retrieval.params import default_params
from tests.gitfixture import GitFixture
from tests.github_double import BOT_LOGIN, GitHubDouble

REPO = "octo/shapes"
TOKEN_PATH = r"^/app/installations/\d+/access_tokens$"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def git_repo(tmp_path: Path) -> GitFixture:
    repo = GitFixture(tmp_path / "shapes")
    repo.commit("Initial shapes", {"README.md": "# Shapes\n", "shapes/core.py": "X = 1\n"})
    return repo


@pytest.fixture
def github(git_repo: GitFixture) -> Iterator[GitHubDouble]:
    with GitHubDouble() as double:
        double.add_installation(1, "octo")
        double.add_repo(1, REPO, git_repo.path)
        yield double


@pytest.fixture
def settings(tmp_path: Path, github: GitHubDouble) -> Settings:
    return load_settings(home=tmp_path / "home", **github.settings_overrides())


@pytest.fixture
def app(settings: Settings) -> GitHubApp:
    return GitHubApp(settings)


@pytest.fixture
def client(app: GitHubApp) -> InstallationClient:
    return app.installation(1)


@pytest.fixture
def repo(client: InstallationClient) -> RepoClient:
    return client.repo(REPO)


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(StateStore(f"sqlite:///{tmp_path / 'state.db'}").engine)


# --- navbot's comment is navbot's -------------------------------------------------------------

def _answer(path: str) -> Answer:
    return Answer(repo_full_name=REPO, default_branch="main", index_commit=COMMIT,
                  index_age_s=60.0, confidence=0.9, files=(FileHit(path, 0.9, ()),),
                  symbols=(), related=(), sections=frozenset({"files"}))


def _post(repo: RepoClient, store: RunStore, number: int, answer: Answer,
          thread: Thread) -> post.Posted:
    """The real post stage, on a run whose compose stage cleared the files."""
    def no_search() -> Any:
        raise AssertionError("posting never searches")

    env = RunEnv(repo=IndexedRepo(REPO, "main", COMMIT, 60.0), search=no_search,
                 config=RepoConfig(), params=default_params(),
                 thresholds=Thresholds(0.3, 0.3, 0.45, "default"), client=repo, thread=thread)
    run = Run(RunInputs(run_id=f"run-{number}", full_name=REPO, number=number,
                        trigger="opened", title="Area is wrong", body=""),
              env, store, budget=RunBudget(max_calls=0, max_tokens=0),
              deadline=time.time() + 60,
              outputs={"compose": Composed(answer, frozenset({"files"}))})
    return post.run(run)


def test_navbot_creates_its_own_comment_beside_others_that_carry_its_marker(
        repo: RepoClient, github: GitHubDouble, store: RunStore) -> None:
    github.add_issue(REPO, 5, "Area is wrong")
    theirs = {
        github.add_comment(REPO, 5, f"CI summary: all green\n\n{MARKER}",
                           user="github-actions[bot]", user_type="Bot"),
        github.add_comment(REPO, 5, f"> {MARKER}\n\nwhat is this marker in my comment?",
                           user="alice"),
        github.add_comment(REPO, 5, f"pasting navbot's answer here\n\n{MARKER}", user="mallory"),
    }
    before = {c["id"]: c["body"] for c in github.comments(REPO, 5)}

    first = _post(repo, store, 5, _answer("shapes/core.py"), Thread(1, 5))
    assert first.action == "create"
    assert first.comment_id not in theirs
    [created] = [c for c in github.comments(REPO, 5) if c["id"] == first.comment_id]
    assert created["user"]["login"] == BOT_LOGIN and has_marker(created["body"])

    # A changed answer edits navbot's own comment, found again by its identity.
    thread = Thread(1, 5, comment_id=first.comment_id, answer_hash=first.fingerprint)
    second = _post(repo, store, 5, _answer("README.md"), thread)
    assert (second.action, second.comment_id) == ("edit", first.comment_id)
    assert [(w["action"], w["comment_id"]) for w in github.writes] == [
        ("create_comment", first.comment_id), ("edit_comment", first.comment_id)]
    after = {c["id"]: c["body"] for c in github.comments(REPO, 5)}
    assert {i: after[i] for i in theirs} == {i: before[i] for i in theirs}
    # The App's identity is read once, not per call.
    assert len(github.requests_to("GET", r"^/app$")) == 1


def test_the_apps_identity_comes_from_github_not_from_a_name(
        tmp_path: Path, git_repo: GitFixture) -> None:
    with GitHubDouble(bot_login="shapes-helper[bot]") as github:
        github.add_installation(1, "octo")
        github.add_repo(1, REPO, git_repo.path)
        github.add_issue(REPO, 2, "Squares")
        # Another App that happens to be called navbot, ending its comment with the marker.
        github.add_comment(REPO, 2, f"hello\n{MARKER}", user=BOT_LOGIN, user_type="Bot")
        settings = load_settings(home=tmp_path / "home", **github.settings_overrides())
        repo = GitHubApp(settings).installation(1).repo(REPO)
        assert repo.find_comment(2, MARKER) is None
        own = repo.create_comment(2, f"navbot's answer\n\n{MARKER}")
        found = repo.find_comment(2, MARKER)
        assert found is not None and (found.id, found.author) == (own, "shapes-helper[bot]")


# --- a refused token is replaced once ---------------------------------------------------------

def test_a_revoked_token_is_dropped_and_fetched_again(
        app: GitHubApp, repo: RepoClient, github: GitHubDouble) -> None:
    github.add_issue(REPO, 1, "Circles are wrong")
    revoked = app.installation_token(1)
    github.revoke_token(revoked)
    assert repo.issue(1).title == "Circles are wrong"
    fresh = app.installation_token(1)
    assert fresh != revoked
    assert [r.credential for r in github.requests_to("GET", r"/issues/1$")] == [revoked, fresh]
    assert [r.status for r in github.requests_to("GET", r"/issues/1$")] == [401, 200]
    assert len(github.requests_to("POST", TOKEN_PATH)) == 2

    # A write refused for its token is made once, with the new token.
    github.revoke_token(fresh)
    comment_id = repo.create_comment(1, f"answer\n\n{MARKER}")
    assert [w["comment_id"] for w in github.writes] == [comment_id]
    assert len(github.requests_to("POST", TOKEN_PATH)) == 3


def test_a_revoked_token_mid_listing_repeats_only_that_page(
        app: GitHubApp, repo: RepoClient, github: GitHubDouble) -> None:
    for number in range(1, 151):
        github.add_issue(REPO, number, f"Issue {number}")
    listing = repo.items_since(None)
    first_page = [next(listing).number for _ in range(100)]
    github.revoke_token(app.installation_token(1))
    rest = [item.number for item in listing]
    assert first_page + rest == list(range(1, 151))
    pages = github.requests_to("GET", r"/repos/octo/shapes/issues$")
    assert [(r.status, "page=2" in r.query) for r in pages] == [
        (200, False), (401, True), (200, True)]


def test_a_token_refused_again_names_the_installation_token(
        app: GitHubApp, repo: RepoClient, github: GitHubDouble) -> None:
    github.add_issue(REPO, 1, "Circles are wrong")
    github.revoke_token()
    with pytest.raises(TokenRefusedError) as info:
        repo.issue(1)
    message = str(info.value)
    assert "installation token for installation 1" in message
    assert "NAVBOT_APP_ID" not in message and "private key" not in message
    assert not any(r.credential and r.credential in message for r in github.requests_log)
    assert len(github.requests_to("POST", TOKEN_PATH)) == 2
    assert [r.status for r in github.requests_to("GET", r"/issues/1$")] == [401, 401]


def test_a_refused_app_jwt_still_names_the_app_id(app: GitHubApp, github: GitHubDouble) -> None:
    github.fail_next("POST", TOKEN_PATH, 401, message="A JSON web token could not be decoded")
    with pytest.raises(GitHubAuthError, match="NAVBOT_APP_ID") as info:
        app.installation(1).repo(REPO).issue(1)
    assert not isinstance(info.value, TokenRefusedError)
    assert len(github.requests_to("POST", TOKEN_PATH)) == 1


# --- tokens go only to the GitHub host, over HTTPS ---------------------------------------------

def test_a_clone_url_on_another_host_gets_no_token(tmp_path: Path, git_repo: GitFixture) -> None:
    with GitHubDouble() as github:
        # "localhost" reaches the same double, so a token sent there would show in its log.
        elsewhere = github.url.replace("127.0.0.1", "localhost") + f"/git/{REPO}.git"
        github.add_installation(1, "octo")
        github.add_repo(1, REPO, git_repo.path, clone_url=elsewhere)
        settings = load_settings(home=tmp_path / "home", **github.settings_overrides())
        client = GitHubApp(settings).installation(1)
        with pytest.raises(UnsafeURLError, match=r"not on the GitHub host 127\.0\.0\.1") as info:
            client.repo(REPO).ref()
        assert "octo/shapes" in str(info.value)
        with pytest.raises(UnsafeURLError):
            client.repositories()
        assert github.requests_to("GET", r"^/git/") == []
        token = client.token()
        assert all(r.credential != token for r in github.requests_log
                   if r.path.startswith("/git/"))
        # The other host is reachable: git without a token gets there and is refused.
        with pytest.raises(CloneError, match="git clone"):
            sync_mirror(elsewhere, tmp_path / "clone.git", None)
        assert [(r.status, r.credential) for r in github.requests_to("GET", r"^/git/")] == [
            (401, "")]


def test_plain_http_without_the_setting_sends_no_credentials(
        tmp_path: Path, github: GitHubDouble) -> None:
    overrides = {**github.settings_overrides(), "github_allow_http": False}
    app = GitHubApp(load_settings(home=tmp_path / "home", **overrides))
    with pytest.raises(UnsafeURLError, match="plain HTTP; set NAVBOT_GITHUB_ALLOW_HTTP=true"):
        app.installation(1).repo(REPO).issue(1)
    with pytest.raises(UnsafeURLError, match="NAVBOT_GITHUB_API_URL"):
        app.bot_login()
    assert github.requests_log == []


@pytest.mark.parametrize(("api", "allow_http", "url", "problem"), [
    ("https://api.github.com", False, "https://github.com/octo/shapes.git", None),
    ("https://api.github.com", False, "https://GitHub.com:443/octo/shapes.git", None),
    ("https://api.github.com", False, "http://github.com/octo/shapes.git", "plain HTTP"),
    ("https://api.github.com", True, "http://github.com/octo/shapes.git", None),
    ("https://api.github.com", False, "https://evil.example/octo/shapes.git", "not on"),
    ("https://api.github.com", False, "https://github.com.evil.example/s.git", "not on"),
    ("https://api.github.com", False, "https://github.com:8443/octo/shapes.git", "not on"),
    ("https://api.github.com", False, "git@github.com:octo/shapes.git", "not an HTTPS URL"),
    ("https://api.github.com", False, "ssh://git@github.com/octo/shapes.git", "not an HTTPS"),
    ("https://api.github.com", False, "https://x-access-token:ghs_1@github.com/s.git",
     "credentials of its own"),
    ("https://api.github.com", False, "https://[::1/s.git", "not a valid URL"),
    ("https://ghe.corp/api/v3", False, "https://ghe.corp/octo/shapes.git", None),
    ("https://ghe.corp/api/v3", False, "https://github.com/octo/shapes.git", "not on"),
    ("http://ghe.corp/api/v3", True, "http://ghe.corp/octo/shapes.git", None),
    ("http://ghe.corp/api/v3", False, "http://ghe.corp/octo/shapes.git", "plain HTTP"),
])
def test_where_credentials_may_go(tmp_path: Path, api: str, allow_http: bool, url: str,
                                  problem: str | None) -> None:
    hosts = TokenHosts.from_settings(load_settings(home=tmp_path, github_api_url=api,
                                                   github_allow_http=allow_http))
    found = hosts.problem(url)
    assert (found is None) == (problem is None)
    if problem is not None:
        assert found is not None and problem in found
        with pytest.raises(UnsafeURLError) as info:
            hosts.check(url, "the clone URL")
        assert "ghs_1" not in str(info.value)
