"""Stage 5, compose: the answer, with a gate per section (pure over the stages' outputs).

Files clear by the one posting rule (`retrieval.gate.files_verdict`: a word or name of the
issue in the code, the issue about this code, then confidence at the files threshold);
suggested changes need the files and their own threshold (a validated diff or symbols to
point at); related issues clear on their own evidence, and past fixes from git history are
shown only beside confident files. A section whose stage failed does not clear. An explicit
`/navbot` always answers: below the confidence gate it shows the leads, saying so; on an
issue that is not about this code it says that plainly instead of listing files.
"""

from __future__ import annotations

from bot.comment import Answer, RelatedItem
from bot.pipeline.model import Composed, Located, Related, Suggestion
from bot.pipeline.runner import Run
from retrieval.gate import Silence, files_verdict

NOT_CONFIDENT_NOTE = ("navbot is not confident about this issue (confidence {confidence:.2f}, "
                      "below {threshold:.2f}); the files below are leads to check, not answers.")
NOT_ABOUT_NOTE = ("navbot does not think this issue is about this repository's code "
                  "({reason}), so it lists no files. A maintainer's `/navbot focus …` naming "
                  "the code involved can point it somewhere.")
HISTORY_SHOWN = 3


def run(run: Run) -> Composed:
    """Gate each section and build the answer the comment will show."""
    env, config = run.env, run.env.config
    located = run.output("locate", Located)
    related = run.output("related", Related)
    suggestion = run.output("suggest", Suggestion)
    gates: dict[str, str] = {}
    cleared: set[str] = set()
    files = located.files[:config.max_files] if located else ()
    confidence = located.confidence if located else 0.0
    limit = env.thresholds.files
    silence: Silence | None = None
    if not config.sections.files:
        gates["files"] = "off in .github/navbot.yml"
    elif located is None:
        gates["files"] = f"locating failed: {run.failures.get('locate', 'not run')}"
    else:
        verdict = files_verdict(bool(files), located.lexical, located.about,
                                env.params.about_threshold, confidence, limit,
                                env.thresholds.source)
        silence, gates["files"] = verdict.silence, verdict.reason
        if verdict.post:
            cleared.add("files")

    gates["changes"] = _changes_gate(run, cleared, suggestion, confidence)
    if gates["changes"].startswith("cleared"):
        cleared.add("changes")

    items: list[RelatedItem] = list(related.items) if related else []
    if "files" in cleared and located is not None:
        known = {f"#{item.number}" for item in items}
        items += [h for h in located.history if not known.intersection(h.fixes)][:HISTORY_SHOWN]
    if not config.sections.related:
        gates["related"] = "off in .github/navbot.yml"
    elif related is None:
        gates["related"] = f"related issues failed: {run.failures.get('related', 'not run')}"
    elif items:
        cleared.add("related")
        gates["related"] = f"{len(items)} related above score {related.min_score:.2f}"
    else:
        gates["related"] = "no past issue is similar enough"

    shown = set(cleared)
    note = None
    if run.inputs.explicit and silence in (Silence.NOT_ABOUT, Silence.NO_TERM):
        note = NOT_ABOUT_NOTE.format(
            reason=silence.value if silence is Silence.NO_TERM
            else f"little of what it names or says occurs in the code; aboutness "
                 f"{located.about if located else 0.0:.2f}")
    elif run.inputs.explicit and silence is Silence.NOT_CONFIDENT:
        shown.add("files")
        note = NOT_CONFIDENT_NOTE.format(confidence=confidence, threshold=limit)
    run.trace("gates", {"cleared": sorted(cleared), "reasons": gates})
    answer = Answer(
        repo_full_name=env.repo.full_name, default_branch=env.repo.default_branch,
        index_commit=env.repo.index_commit, index_age_s=env.repo.index_age_s,
        confidence=confidence, files=files,
        symbols=suggestion.where if suggestion else (),
        related=tuple(items) if "related" in cleared else (),
        sections=frozenset(shown), max_files=config.max_files, note=note,
        help=run.inputs.show_help,
        also=suggestion.also if suggestion and "changes" in cleared else (),
        plan=suggestion.plan if suggestion and "changes" in cleared else None,
        diff=suggestion.diff if suggestion and "changes" in cleared else None,
        track_record=env.thresholds.track_record)
    return Composed(answer=answer, cleared=frozenset(cleared), gates=gates)


def _changes_gate(run: Run, cleared: set[str], suggestion: Suggestion | None,
                  confidence: float) -> str:
    limit = run.env.thresholds.changes
    if not run.env.config.sections.changes:
        return "off in .github/navbot.yml"
    if suggestion is None:
        return f"suggesting failed: {run.failures.get('suggest', 'not run')}"
    if "files" not in cleared:
        return "needs the files section"
    if not suggestion.where and suggestion.diff is None:
        return "no symbol in a listed file"
    if confidence < limit:
        return f"confidence {confidence:.2f} < {limit:.2f} for changes"
    return "cleared with the files" + (" and a validated diff" if suggestion.diff else "")
