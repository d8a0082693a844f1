"""Issue and PR references parsed from commit messages."""

from __future__ import annotations

import pytest

from indexer.refs import IssueRef, PullRequestInfo, issue_refs, pull_request_of


@pytest.mark.parametrize("message, expected", [
    ("Fixes #3", [IssueRef(3, None, True)]),
    ("fix: handle None\n\ncloses owner/repo#5", [IssueRef(5, "owner/repo", True)]),
    ("Resolved: https://github.com/me/app/issues/9", [IssueRef(9, None, True)]),
    ("See #4 and GH-8", [IssueRef(4, None, False), IssueRef(8, None, False)]),
    ("Fixes #3, see also #3", [IssueRef(3, None, True)]),
    ("Use &#123; entities and color #fff", []),
    ("Nothing to see here", []),
])
def test_issue_refs(message: str, expected: list[IssueRef]) -> None:
    assert issue_refs(message, repo="me/app") == expected


def test_pull_request_of_merge_and_squash_commits() -> None:
    assert pull_request_of("Merge pull request #123 from a/b\n\nMake it work") == \
        PullRequestInfo(123, "Make it work", squash=False)
    assert pull_request_of("Make it work (#12)") == PullRequestInfo(12, "Make it work", True)
    assert pull_request_of("Merge branch 'main' into feature") is None
    assert pull_request_of("Mention (#12) mid-title only") is None


def test_a_pr_does_not_reference_itself() -> None:
    assert issue_refs("Merge pull request #7 from x/y\n\nfix #2", skip=7) == [
        IssueRef(2, None, True)]
