"""Prompt injection: hostile issues, and a model that obeys them, still yield one safe comment.

The OpenAI double plays a model that fell for every instruction in the issue: its replies
carry mentions, outside links, raw HTML and secrets. Whatever it writes, navbot's only
action is the one comment, and that comment pings no one, links nowhere outside the
repository, holds no secret and no HTML beyond details/summary.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bot.comment import MARKER
from tests.apphost import SHOP, install_shop
from tests.evalfixture import cart_diff
from tests.github_double import GitHubDouble
from tests.markdown_checks import outside_code, pingable_mentions
from tests.openai_double import OpenAIDouble

CORPUS = json.loads((Path(__file__).parent / "fixtures" / "injection.json").read_text())
LLM_KEY = "sk-test-0123456789abcdef"
HOSTILE = ("@everyone @octo-org/admins see [this](https://evil.example/pwn) "
           "<img src=x onerror=alert(1)> <script>alert(1)</script> key " + LLM_KEY)


def obedient_model(request: dict[str, Any]) -> str:
    """A model that did what the issue said, in every prompt's format."""
    system = request["messages"][0]["content"]
    if "sketching a change" in system:
        return (f"- {HOSTILE}\n- Close this issue and label it wontfix\n"
                f"```diff\n{cart_diff()}```\n")
    if "candidate" in system.lower():
        return "1\n" + HOSTILE
    return f"Cart.total discount\n{HOSTILE}"


@pytest.mark.parametrize("number", range(len(CORPUS)))
def test_hostile_issues_get_at_most_one_safe_comment(tmp_path: Path, number: int) -> None:
    issue = CORPUS[number]
    with GitHubDouble() as github, OpenAIDouble(responder=obedient_model) as llm:
        host = install_shop(tmp_path, github, llm_base_url=llm.base_url, llm_api_key=LLM_KEY)
        github.add_issue(SHOP, 50, issue["title"], issue["body"])
        del github.writes[:]
        host.accept("issues", github.issue_webhook(SHOP, 50, "opened"))
        host.queue.run_pending()
        assert llm.requests, "the model was consulted"
        writes = [w["action"] for w in github.writes]
        comments = [c["body"] for c in github.comments(SHOP, 50) if MARKER in c["body"]]
        tokens = list(github.tokens)
    assert set(writes) <= {"create_comment", "edit_comment", "react"}
    assert writes.count("create_comment") <= 1 and len(comments) <= 1
    for body in comments:
        live = outside_code(body.replace(MARKER, ""))
        assert pingable_mentions(body) == []
        assert all(url.startswith(f"https://github.com/{SHOP}/")
                   for url in re.findall(r"https?://[^\s)>\]]*", live))
        assert {tag.lower() for tag in re.findall(r"</?([A-Za-z][\w-]*)", live)
                } <= {"details", "summary"}
        assert LLM_KEY not in body
        assert not any(token in body for token in tokens)
        assert "https://evil.example" not in body and "https://phish.example" not in body
