"""The GitHub double's endpoints: GitHub's REST API as JSON, and git's dumb HTTP protocol.

`GitHubApi` is the base class of `tests.github_double.GitHubDouble`: its methods read and
change the state the double keeps (declared on the class), and the double dispatches each
request to an `_ep_<endpoint>` method here, with its lock held.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer
from werkzeug.wrappers import Request, Response

REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")
TOKEN_LIFETIME_S = 3600

ROUTES = Map([
    Rule("/app", endpoint="app", methods=["GET"]),
    Rule("/app/installations", endpoint="installations", methods=["GET"]),
    Rule("/app/installations/<int:installation_id>/access_tokens", endpoint="access_token",
         methods=["POST"]),
    Rule("/installation/repositories", endpoint="installation_repos", methods=["GET"]),
    Rule("/rate_limit", endpoint="rate_limit", methods=["GET"]),
    Rule("/repos/<owner>/<name>", endpoint="repo", methods=["GET"]),
    Rule("/repos/<owner>/<name>/issues", endpoint="issues", methods=["GET"]),
    Rule("/repos/<owner>/<name>/issues/<int:number>", endpoint="issue", methods=["GET"]),
    Rule("/repos/<owner>/<name>/issues/<int:number>/comments", endpoint="comments",
         methods=["GET", "POST"]),
    Rule("/repos/<owner>/<name>/issues/comments/<int:comment_id>", endpoint="comment",
         methods=["GET", "PATCH"]),
    Rule("/repos/<owner>/<name>/issues/comments/<int:comment_id>/reactions",
         endpoint="reactions", methods=["GET", "POST"]),
    Rule("/repos/<owner>/<name>/pulls/<int:number>", endpoint="pull", methods=["GET"]),
    Rule("/repos/<owner>/<name>/pulls/<int:number>/files", endpoint="pull_files",
         methods=["GET"]),
    Rule("/repos/<owner>/<name>/contents/<path:path>", endpoint="contents", methods=["GET"]),
    Rule("/git/<owner>/<name>.git/<path:path>", endpoint="git", methods=["GET"]),
], strict_slashes=False)


class Reply(Exception):
    """Raised by a handler to answer at once with a GitHub-shaped error."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def iso(moment: datetime) -> str:
    """GitHub's timestamp format: UTC, seconds, a trailing Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stable_id(text: str) -> int:
    return int(hashlib.sha1(text.encode()).hexdigest()[:7], 16)


def user_json(login: str, kind: str = "User") -> dict[str, Any]:
    """A GitHub user object for `login`, with an id that is the same in every run."""
    uid = _stable_id(login)
    return {"login": login, "id": uid, "node_id": f"U_{uid}", "type": kind,
            "site_admin": False, "url": f"/users/{login}", "html_url": f"/{login}"}


class GitHubApi:
    """GitHub's REST endpoints and git's dumb HTTP over the state a GitHubDouble keeps."""

    # Set up by GitHubDouble.__init__ and start().
    app_id: int
    clock: Callable[[], float]
    bot_login: str
    installations: dict[int, dict[str, Any]]
    repos: dict[str, dict[str, Any]]
    issues: dict[str, dict[int, dict[str, Any]]]
    comment_store: dict[int, dict[str, Any]]
    tokens: dict[str, tuple[int, float]]
    revoked_tokens: set[str]
    revoke_every_token: bool
    writes: list[dict[str, Any]]
    _ids: Iterator[int]
    _lock: threading.RLock
    _server: BaseWSGIServer | None

    @property
    def url(self) -> str:
        """The API base URL (NAVBOT_GITHUB_API_URL)."""
        if self._server is None:
            raise RuntimeError("the GitHub double is not started")
        return f"http://127.0.0.1:{self._server.server_port}"

    def comments(self, full_name: str, number: int) -> list[dict[str, Any]]:
        """The comments of an issue, as GitHub would list them."""
        with self._lock:
            return [self._comment_json(c) for c in self.comment_store.values()
                    if c["repo"] == full_name and c["issue"] == number]

    # -- lookups ---------------------------------------------------------------------------

    def _repo_for(self, installation: int | None, owner: str, name: str) -> dict[str, Any]:
        full_name = f"{owner}/{name}"
        match = next((r for key, r in self.repos.items() if key.lower() == full_name.lower()),
                     None)
        if (match is None or installation is None
                or match["full_name"] not in self.installations[installation]["repos"]):
            raise Reply(404, "Not Found")
        return match

    def _issue_for(self, installation: int | None, owner: str, name: str,
                   number: int) -> tuple[str, dict[str, Any]]:
        full_name = self._repo_for(installation, owner, name)["full_name"]
        issue = self.issues[full_name].get(number)
        if issue is None:
            raise Reply(404, "Not Found")
        return full_name, issue

    def _comment_for(self, installation: int | None, owner: str, name: str,
                     comment_id: int) -> dict[str, Any]:
        full_name = self._repo_for(installation, owner, name)["full_name"]
        comment = self.comment_store.get(comment_id)
        if comment is None or comment["repo"] != full_name:
            raise Reply(404, "Not Found")
        return comment

    def _page(self, request: Request, items: list[Any]) -> tuple[list[Any], dict[str, str]]:
        """One page of `items` and its Link header, as GitHub paginates."""
        per_page = max(1, min(int(request.args.get("per_page", 30)), 100))
        page = max(1, int(request.args.get("page", 1)))
        last = max(1, -(-len(items) // per_page))

        def link(target: int, rel: str) -> str:
            args = {**request.args.to_dict(), "page": str(target), "per_page": str(per_page)}
            return f'<{request.base_url}?{urlencode(args)}>; rel="{rel}"'

        links = [link(page + 1, "next"), link(last, "last")] if page < last else []
        if page > 1:
            links += [link(page - 1, "prev"), link(1, "first")]
        headers = {"Link": ", ".join(links)} if links else {}
        return items[(page - 1) * per_page: page * per_page], headers

    # -- payloads --------------------------------------------------------------------------

    def _repo_json(self, repo: dict[str, Any]) -> dict[str, Any]:
        full_name = repo["full_name"]
        owner, name = full_name.split("/")
        return {"id": repo["id"], "node_id": f"R_{repo['id']}", "name": name,
                "full_name": full_name, "owner": user_json(owner, "Organization"),
                "private": repo["private"], "default_branch": repo["default_branch"],
                "url": f"{self.url}/repos/{full_name}", "html_url": f"{self.url}/{full_name}",
                "clone_url": repo["clone_url"] or f"{self.url}/git/{full_name}.git"}

    def _issue_json(self, full_name: str, issue: dict[str, Any]) -> dict[str, Any]:
        number, api = issue["number"], f"{self.url}/repos/{full_name}"
        kind = "pull" if issue["pull"] else "issues"
        payload = {
            "id": issue["id"], "node_id": f"I_{issue['id']}", "number": number,
            "url": f"{api}/issues/{number}", "repository_url": api,
            "comments_url": f"{api}/issues/{number}/comments",
            "html_url": f"{self.url}/{full_name}/{kind}/{number}",
            "title": issue["title"], "body": issue["body"], "state": issue["state"],
            "state_reason": issue["state_reason"], "user": issue["user"],
            "labels": [{"id": _stable_id(label), "name": label, "color": "ededed"}
                       for label in issue["labels"]],
            "comments": sum(1 for c in self.comment_store.values()
                            if c["repo"] == full_name and c["issue"] == number),
            "created_at": iso(issue["created_at"]), "updated_at": iso(issue["updated_at"]),
            "closed_at": iso(issue["updated_at"]) if issue["state"] == "closed" else None,
            "locked": False, "assignees": [], "author_association": "CONTRIBUTOR",
        }
        if issue["pull"]:
            payload["pull_request"] = {"url": f"{api}/pulls/{number}",
                                       "html_url": payload["html_url"]}
        return payload

    def _pull_json(self, full_name: str, issue: dict[str, Any]) -> dict[str, Any]:
        payload = self._issue_json(full_name, issue)
        payload.pop("pull_request")
        merged = issue["pull"]["merged"]
        payload.update({"url": f"{self.url}/repos/{full_name}/pulls/{issue['number']}",
                        "merged": merged, "changed_files": len(issue["pull"]["files"]),
                        "merged_at": payload["closed_at"] if merged else None,
                        "base": {"ref": self.repos[full_name]["default_branch"]}})
        return payload

    def _comment_json(self, comment: dict[str, Any]) -> dict[str, Any]:
        api = f"{self.url}/repos/{comment['repo']}/issues"
        counts = {content: 0 for content in REACTIONS}
        for reaction in comment["reactions"]:
            counts[reaction["content"]] += 1
        return {"id": comment["id"], "node_id": f"IC_{comment['id']}", "body": comment["body"],
                "user": comment["user"], "url": f"{api}/comments/{comment['id']}",
                "html_url": f"{self.url}/{comment['repo']}/issues/{comment['issue']}"
                            f"#issuecomment-{comment['id']}",
                "issue_url": f"{api}/{comment['issue']}",
                "created_at": iso(comment["created_at"]), "updated_at": iso(comment["updated_at"]),
                "author_association": "NONE",
                "reactions": {"url": f"{api}/comments/{comment['id']}/reactions",
                              "total_count": len(comment["reactions"]), **counts}}

    def _new_comment(self, full_name: str, number: int, body: str,
                     user: dict[str, Any]) -> int:
        now = datetime.fromtimestamp(self.clock(), UTC)
        comment_id = next(self._ids)
        self.comment_store[comment_id] = {"id": comment_id, "repo": full_name, "issue": number,
                                          "body": body, "user": user, "created_at": now,
                                          "updated_at": now, "reactions": []}
        return comment_id

    def _reaction(self, content: str, login: str, kind: str = "User") -> dict[str, Any]:
        reaction_id = next(self._ids)
        return {"id": reaction_id, "node_id": f"REA_{reaction_id}", "content": content,
                "user": user_json(login, kind),
                "created_at": iso(datetime.fromtimestamp(self.clock(), UTC))}

    def _write(self, action: str, **details: Any) -> None:
        self.writes.append({"action": action, **details})

    # -- endpoints (called with the lock held) ---------------------------------------------

    def _ep_app(self, request: Request, installation: None) -> Response:
        # GET /app as GitHub serves it; the App's comments are written by "<slug>[bot]".
        slug = self.bot_login.removesuffix("[bot]")
        created = iso(datetime(2024, 1, 2, tzinfo=UTC))
        return json_response(200, {"id": self.app_id, "slug": slug, "client_id": "Iv1.d0ub1e",
                                   "node_id": f"A_{self.app_id}", "name": slug,
                                   "owner": user_json("navbot-dev"), "description": "",
                                   "external_url": "https://navbot.example",
                                   "html_url": f"https://github.com/apps/{slug}",
                                   "created_at": created, "updated_at": created,
                                   "permissions": {"issues": "write", "contents": "read",
                                                   "pull_requests": "read", "metadata": "read"},
                                   "events": ["issues", "issue_comment", "push"],
                                   "installations_count": len(self.installations)})

    def _ep_installations(self, request: Request, installation: None) -> Response:
        items = [{"id": iid, "app_id": self.app_id, "account": user_json(inst["account"]),
                  "target_type": "Organization", "repository_selection": "selected",
                  "access_tokens_url": f"{self.url}/app/installations/{iid}/access_tokens"}
                 for iid, inst in self.installations.items()]
        page, headers = self._page(request, items)
        return json_response(200, page, headers)

    def _ep_access_token(self, request: Request, installation: None,
                         installation_id: int) -> Response:
        if installation_id not in self.installations:
            raise Reply(404, "Not Found")
        token = "ghs_" + secrets.token_hex(18)
        expires_at = self.clock() + TOKEN_LIFETIME_S
        self.tokens[token] = (installation_id, expires_at)
        return json_response(201, {"token": token,
                                   "expires_at": iso(datetime.fromtimestamp(expires_at, UTC)),
                                   "permissions": {"issues": "write", "contents": "read"},
                                   "repository_selection": "selected"})

    def _ep_installation_repos(self, request: Request, installation: int) -> Response:
        repos = [self._repo_json(self.repos[name])
                 for name in self.installations[installation]["repos"]]
        page, headers = self._page(request, repos)
        return json_response(200, {"total_count": len(repos), "repository_selection": "selected",
                                   "repositories": page}, headers)

    def _ep_rate_limit(self, request: Request, installation: int | None) -> Response:
        core = {"limit": 5000, "remaining": 4999, "reset": int(time.time()) + 3600, "used": 1}
        return json_response(200, {"resources": {"core": core}, "rate": core})

    def _ep_repo(self, request: Request, installation: int, owner: str, name: str) -> Response:
        return json_response(200, self._repo_json(self._repo_for(installation, owner, name)))

    def _ep_issues(self, request: Request, installation: int, owner: str,
                   name: str) -> Response:
        full_name = self._repo_for(installation, owner, name)["full_name"]
        state = request.args.get("state", "open")
        since = request.args.get("since")
        chosen = [i for i in self.issues[full_name].values()
                  if state == "all" or i["state"] == state]
        if since:
            floor = datetime.fromisoformat(since)
            chosen = [i for i in chosen if i["updated_at"] >= floor]
        key = "updated_at" if request.args.get("sort") == "updated" else "created_at"
        chosen.sort(key=lambda i: (i[key], i["number"]),
                    reverse=request.args.get("direction", "desc") == "desc")
        page, headers = self._page(request, [self._issue_json(full_name, i) for i in chosen])
        return json_response(200, page, headers)

    def _ep_issue(self, request: Request, installation: int, owner: str, name: str,
                  number: int) -> Response:
        full_name, issue = self._issue_for(installation, owner, name, number)
        return json_response(200, self._issue_json(full_name, issue))

    def _ep_comments(self, request: Request, installation: int, owner: str, name: str,
                     number: int) -> Response:
        full_name, issue = self._issue_for(installation, owner, name, number)
        if request.method == "GET":
            page, headers = self._page(request, self.comments(full_name, number))
            return json_response(200, page, headers)
        body = (request.get_json(silent=True) or {}).get("body")
        if not isinstance(body, str):
            raise Reply(422, "Invalid request.\n\n\"body\" wasn't supplied.")
        comment_id = self._new_comment(full_name, number, body, user_json(self.bot_login, "Bot"))
        issue["updated_at"] = self.comment_store[comment_id]["created_at"]
        self._write("create_comment", repo=full_name, issue=number, comment_id=comment_id,
                    body=body)
        return json_response(201, self._comment_json(self.comment_store[comment_id]))

    def _ep_comment(self, request: Request, installation: int, owner: str, name: str,
                    comment_id: int) -> Response:
        comment = self._comment_for(installation, owner, name, comment_id)
        if request.method == "PATCH":
            body = (request.get_json(silent=True) or {}).get("body")
            if not isinstance(body, str):
                raise Reply(422, "Invalid request.\n\n\"body\" wasn't supplied.")
            comment["body"] = body
            comment["updated_at"] = datetime.fromtimestamp(self.clock(), UTC)
            self._write("edit_comment", repo=comment["repo"], issue=comment["issue"],
                        comment_id=comment_id, body=body)
        return json_response(200, self._comment_json(comment))

    def _ep_reactions(self, request: Request, installation: int, owner: str, name: str,
                      comment_id: int) -> Response:
        comment = self._comment_for(installation, owner, name, comment_id)
        if request.method == "GET":
            page, headers = self._page(request, comment["reactions"])
            return json_response(200, page, headers)
        content = (request.get_json(silent=True) or {}).get("content")
        if content not in REACTIONS:
            raise Reply(422, "Validation Failed")
        for reaction in comment["reactions"]:
            if reaction["content"] == content and reaction["user"]["login"] == self.bot_login:
                return json_response(200, reaction)
        reaction = self._reaction(content, self.bot_login, "Bot")
        comment["reactions"].append(reaction)
        self._write("react", repo=comment["repo"], issue=comment["issue"],
                    comment_id=comment_id, content=content)
        return json_response(201, reaction)

    def _ep_pull(self, request: Request, installation: int, owner: str, name: str,
                 number: int) -> Response:
        full_name, issue = self._issue_for(installation, owner, name, number)
        if not issue["pull"]:
            raise Reply(404, "Not Found")
        return json_response(200, self._pull_json(full_name, issue))

    def _ep_pull_files(self, request: Request, installation: int, owner: str, name: str,
                       number: int) -> Response:
        _, issue = self._issue_for(installation, owner, name, number)
        if not issue["pull"]:
            raise Reply(404, "Not Found")
        files = [{"sha": hashlib.sha1(path.encode()).hexdigest(), "filename": path,
                  "status": "modified", "additions": 1, "deletions": 1, "changes": 2}
                 for path in issue["pull"]["files"]]
        page, headers = self._page(request, files)
        return json_response(200, page, headers)

    def _ep_contents(self, request: Request, installation: int, owner: str, name: str,
                     path: str) -> Response:
        repo = self._repo_for(installation, owner, name)
        spec = f"{request.args.get('ref') or repo['default_branch']}:{path}"
        kind = _git(repo["git_dir"], "cat-file", "-t", spec)
        if kind is None or kind.strip() != b"blob":
            raise Reply(404, "Not Found")
        content = _git(repo["git_dir"], "cat-file", "blob", spec) or b""
        sha = (_git(repo["git_dir"], "rev-parse", spec) or b"").decode().strip()
        return json_response(200, {"type": "file", "encoding": "base64", "size": len(content),
                                   "name": path.rsplit("/", 1)[-1], "path": path, "sha": sha,
                                   "content": base64.encodebytes(content).decode(),
                                   "url": f"{self.url}/repos/{repo['full_name']}/contents/{path}"})

    def _ep_git(self, request: Request, installation: int, owner: str, name: str,
                path: str) -> Response:
        repo = self._repo_for(installation, owner, name)
        root = repo["git_dir"].resolve()
        if path == "info/refs":
            _git(root, "update-server-info")
        target = (root / path).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            raise Reply(404, "Not Found")
        kind = "text/plain" if path in ("info/refs", "HEAD") else "application/octet-stream"
        return Response(target.read_bytes(), 200, content_type=kind)


def json_response(status: int, data: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON response with the content type GitHub sends."""
    return Response(json.dumps(data), status, headers,
                    content_type="application/json; charset=utf-8")


def _git(git_dir: Path, *args: str) -> bytes | None:
    """git's stdout in `git_dir`, or None when git fails (a missing path or ref)."""
    result = subprocess.run(["git", "--git-dir", str(git_dir), *args], capture_output=True,
                            check=False)
    return result.stdout if result.returncode == 0 else None
