"""The pure decisions: when to analyse, and what to do with the one comment."""

from __future__ import annotations

import pytest

from bot.decide import (
    Answered,
    is_explicit,
    plan_comment,
    should_analyse,
    text_fingerprint,
    thread_after_answer,
    thread_after_skip,
    thread_after_stop,
)
from bot.state.records import Thread
from retrieval.related_issues import PastItem, related_issues

FRESH = Thread(repo_id=1, number=7)
TEXT = text_fingerprint("Checkout total ignores discount", "Steps: apply code SAVE10")


def test_fingerprint_ignores_cosmetic_edits_but_not_content() -> None:
    same = [
        ("checkout total ignores discount", "steps: apply code save10"),
        ("Checkout total ignores discount!", "Steps:\n\n  apply code SAVE10."),
        ("Checkout total ignores discount", "<!-- template hint -->Steps: apply code SAVE10"),
    ]
    for title, body in same:
        assert text_fingerprint(title, body) == TEXT
    assert text_fingerprint("Checkout total ignores discount", "Steps: apply code SAVE20") != TEXT


@pytest.mark.parametrize(("trigger", "mode", "thread", "text", "analyse"), [
    ("opened", "auto", FRESH, TEXT, True),
    ("opened", "on-demand", FRESH, TEXT, False),
    ("run", "on-demand", FRESH, TEXT, True),
    ("edited", "auto", Thread(1, 7, text_hash=TEXT, outcome="create"), TEXT, False),
    ("edited", "auto", Thread(1, 7, text_hash="other", outcome="create"), TEXT, True),
    ("opened", "auto", Thread(1, 7, text_hash=TEXT, outcome="silent"), TEXT, False),
    ("edited", "auto", Thread(1, 7, stopped=True, text_hash="x", outcome="stopped"), TEXT,
     False),
    ("rerun", "auto", Thread(1, 7, stopped=True, text_hash=TEXT, outcome="create"), TEXT,
     True),
    ("stop", "auto", FRESH, TEXT, False),
])
def test_should_analyse(trigger: str, mode: str, thread: Thread, text: str,
                        analyse: bool) -> None:
    go = should_analyse(trigger, mode, thread, text)
    assert go.analyse is analyse
    assert go.reason


def test_closed_issues_are_left_alone_unless_asked() -> None:
    assert not should_analyse("edited", "auto", FRESH, TEXT, is_open=False).analyse
    assert should_analyse("run", "auto", FRESH, TEXT, is_open=False).analyse


def test_plan_comment() -> None:
    files = frozenset({"files"})
    assert plan_comment("opened", frozenset(), "f1", FRESH, None).action == "silent"
    assert plan_comment("opened", files, "f1", FRESH, None).action == "create"
    posted = Thread(1, 7, comment_id=99, answer_hash="f1")
    assert plan_comment("edited", files, "f1", posted, 99).action == "unchanged"
    assert plan_comment("edited", files, "f2", posted, 99).action == "edit"
    # Not confident any more after an edit: the earlier comment stays, nothing new is said.
    assert plan_comment("edited", frozenset(), "f2", posted, 99).action == "unchanged"
    # An explicit request always gets an answer, in the same comment: every command but
    # stop, `/navbot focus …` included (it used to get a reaction and then silence).
    for command in ("run", "rerun", "help", "focus"):
        assert is_explicit(command)
        assert plan_comment(command, frozenset(), "f3", FRESH, None).action == "create"
    assert not is_explicit("stop") and not is_explicit("opened")
    # The comment found by its marker counts even when the state lost its id (a crash
    # between posting and saving): edit it, never post a second one.
    assert plan_comment("opened", files, "f1", FRESH, 99).action == "edit"


ITEMS = [
    PastItem(3, "issue", "Discount code ignored at checkout",
             "Applying a discount code does not change the checkout total in the cart.",
             "closed", "completed"),
    PastItem(4, "pr", "Apply discount before tax", "Fixes #3", "closed", merged=True,
             closes=(3,), files=("shop/cart.py", "shop/pricing.py")),
    PastItem(5, "issue", "Discount code ignored in checkout total",
             "The checkout total ignores the discount code entered in the cart.", "open"),
    PastItem(6, "issue", "Support gift cards at checkout",
             "Gift cards should reduce the checkout total in the cart.", "closed",
             "not_planned"),
    PastItem(8, "issue", "Logo is blurry", "The logo looks blurry on retina screens.", "open"),
]
NEW = ("Checkout total ignores the discount code\n\n"
       "When I enter a discount code in the cart, the checkout total stays the same.")


def test_related_issues_groups_and_fixing_prs() -> None:
    found = related_issues(NEW, 7, ITEMS, {3: 0.82, 5: 0.9, 6: 0.55, 8: 0.05})
    by_number = {r.number: r for r in found}
    assert by_number[3].group == "fixed" and by_number[3].fixed_by == (4,)
    assert by_number[5].group == "open"  # many shared terms and a near-paraphrase title
    assert 8 not in by_number  # nothing in common
    assert all(len(r.shared_terms) >= 3 for r in found)
    assert [r.score for r in found] == sorted((r.score for r in found), reverse=True)
    assert any("fixed by PR #4" in e for e in by_number[3].evidence())
    assert "the fix changed `shop/cart.py`, `shop/pricing.py`" in by_number[3].evidence()


def test_possible_duplicate_needs_strong_evidence() -> None:
    # Without title embeddings (or with a loose title match) an open issue is never listed.
    assert 5 not in {r.number for r in related_issues(NEW, 7, ITEMS)}
    assert 5 not in {r.number for r in related_issues(NEW, 7, ITEMS, {5: 0.6, 3: 0.8})}
    # The issue itself is never related to itself.
    assert 5 not in {r.number for r in related_issues(NEW, 5, ITEMS, {5: 1.0})}


def test_stop_marks_the_thread_stopped_and_a_command_lifts_it() -> None:
    stopped = thread_after_stop(Thread(1, 7, comment_id=5, outcome="create"))
    assert stopped.stopped and stopped.outcome == "stopped" and stopped.comment_id == 5
    answered = Answered("edit", "the answer changed", 5, "fp2", 0.9, 2, 1)
    assert not thread_after_answer(stopped, "rerun", TEXT, answered).stopped
    # An issue event answered while stopped cannot happen through should_analyse; were it
    # to, it would not lift the stop.
    assert thread_after_answer(stopped, "edited", TEXT, answered).stopped


def test_only_an_issues_first_event_is_recorded_as_skipped() -> None:
    skipped = thread_after_skip(FRESH, "opened", "the repository is in on-demand mode")
    assert skipped is not None and skipped.outcome == "skipped"
    assert skipped.reason == "the repository is in on-demand mode"
    assert thread_after_skip(FRESH, "focus", "the issue is closed") is None
    assert thread_after_skip(Thread(1, 7, outcome="create"), "edited", "unchanged") is None


def test_a_silent_run_keeps_the_fingerprint_of_the_answer_still_shown() -> None:
    shown = Thread(1, 7, comment_id=5, answer_hash="fp1", outcome="create", thumbs_up=3)
    silent = thread_after_answer(shown, "edited", "new-text",
                                 Answered("unchanged", "no section cleared", 5, "fp2", 0.2))
    assert silent.answer_hash == "fp2" and silent.outcome == "unchanged"
    quiet = thread_after_answer(FRESH, "opened", TEXT,
                                Answered("silent", "no section cleared", None, "fp3", 0.1))
    assert quiet.answer_hash is None and quiet.text_hash == TEXT and quiet.comment_id is None
    edited = thread_after_answer(shown, "edited", "new-text",
                                 Answered("edit", "the answer changed", 5, "fp4", 0.8, 4, 0))
    assert (edited.answer_hash, edited.thumbs_up, edited.confidence) == ("fp4", 4, 0.8)
    # No comment read back: the counts of the earlier one stay.
    kept = thread_after_answer(shown, "edited", "t", Answered("silent", "x", None, "f", 0.1))
    assert kept.thumbs_up == 3
