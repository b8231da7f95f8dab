"""Pareto variants as code actions after a restart: re-offered, re-based, withheld, refused.

The run was made from a terminal (see ``finished_run.py``): the server under test only
finds it in the run store when the file is opened.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

import pytest
from evolve_support import EditorClient, document_edit
from lsprotocol import types

if TYPE_CHECKING:
    from finished_run import FinishedRun

    from nnevolve.store import Variant

pytest_plugins = ["finished_run"]
pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]


@pytest.fixture
def document(run_editor: EditorClient, finished_run: FinishedRun):
    """The model file opened afresh (as after a restart); closed after the test."""
    uri = run_editor.open(finished_run.model_file)
    yield uri
    run_editor.close(uri)


def changed_lines(base: str, variant: str) -> list[int]:
    """0-based lines of `base` that the variant replaces or deletes (or inserts before)."""
    matcher = difflib.SequenceMatcher(None, base.splitlines(True), variant.splitlines(True))
    return [
        line
        for tag, i1, i2, _, _ in matcher.get_opcodes()
        if tag != "equal"
        for line in range(i1, max(i2, i1 + 1))
    ]


def class_line(text: str) -> int:
    return text.splitlines().index("class Net(nn.Module):")


def titled(
    actions: list[types.CodeAction], variant_count: int, index: int
) -> types.CodeAction | None:
    return next(
        (a for a in actions if a.title.startswith(f"Apply variant {index}/{variant_count}:")), None
    )


async def test_opening_the_file_offers_its_finished_run(
    run_editor: EditorClient, finished_run: FinishedRun, document: str
) -> None:
    front = finished_run.front()
    base = finished_run.model_file.read_text()
    actions = await run_editor.code_actions(document, class_line(base))
    assert [a.title.split(":")[0] for a in actions] == [
        f"Apply variant {i}/{len(front)}" for i in range(1, len(front) + 1)
    ]
    for index, variant in enumerate(front):
        action = (await run_editor.code_actions(document, class_line(base)))[index]
        # the confirmed means the run offers
        assert f"{variant.figures.params:,} params" in action.title
        assert f"{variant.figures.accuracy * 100:.1f}%" in action.title
        change = document_edit(action)
        assert change.text_document.version == run_editor.versions[document]
        assert run_editor.apply(types.WorkspaceEdit(document_changes=[change])) == (True, None)
        assert run_editor.texts[document] == variant.source
        run_editor.set_text(document, base)


async def test_a_change_away_from_the_variants_lines_is_kept_when_applying(
    run_editor: EditorClient, finished_run: FinishedRun, document: str
) -> None:
    base = finished_run.model_file.read_text()
    variant = finished_run.front()[0]
    mine = base.replace("import torch.nn as nn\n", "import torch.nn as nn\nimport math\n", 1)
    version = run_editor.set_text(document, mine)
    actions = await run_editor.code_actions(document, class_line(mine))
    action = titled(actions, len(finished_run.front()), 1)
    assert action is not None, "a variant whose lines the user did not touch is re-based"
    change = document_edit(action)
    assert change.text_document.version == version
    assert run_editor.apply(types.WorkspaceEdit(document_changes=[change])) == (True, None)
    assert run_editor.texts[document] == variant.source.replace(
        "import torch.nn as nn\n", "import torch.nn as nn\nimport math\n", 1
    )


async def test_a_variant_whose_lines_the_user_changed_is_withheld_and_refused(
    run_editor: EditorClient, finished_run: FinishedRun, document: str
) -> None:
    base = finished_run.model_file.read_text()
    front = finished_run.front()
    variant: Variant = front[0]
    lines = base.splitlines(True)
    touched = changed_lines(base, variant.source)[0]
    lines[touched] = lines[touched].rstrip("\n") + "  # my own change\n"
    run_editor.set_text(document, "".join(lines))

    actions = await run_editor.code_actions(document, class_line(base))
    withheld = titled(actions, len(front), 1)
    # shown, greyed out with the reason, and without an edit to apply
    assert withheld is not None and withheld.edit is None and withheld.disabled is not None
    assert "edited since the run started" in withheld.disabled.reason
    answer = await run_editor.execute(
        "nnevolve.applyVariant",
        {"uri": document, "run": finished_run.result["run_id"], "variant": variant.id},
    )
    assert answer["applied"] is False
    assert "edited since the run started" in answer["reason"]
    assert withheld.disabled.reason in answer["reason"]  # the same words before and after a click
    assert any("Variant not applied" in m.message for m in run_editor.messages)
    assert run_editor.texts[document] == "".join(lines)  # nothing was applied


async def test_apply_variant_refuses_a_version_that_has_passed(
    run_editor: EditorClient, finished_run: FinishedRun, document: str
) -> None:
    variant = finished_run.front()[1]
    # a note above the code: far from any line a variant changes
    run_editor.set_text(document, "# a note\n" + run_editor.texts[document])
    answer = await run_editor.execute(
        "nnevolve.applyVariant",
        {
            "uri": document,
            "run": finished_run.result["run_id"],
            "variant": variant.id,
            "version": 1,
        },
    )
    assert answer["applied"] is False
    assert "changed since version 1 (it is at version 2)" in answer["reason"]
    # without a version the same variant is re-based onto the text as it is now
    answer = await run_editor.execute(
        "nnevolve.applyVariant",
        {"uri": document, "run": finished_run.result["run_id"], "variant": variant.id},
    )
    assert answer == {"applied": True}
    assert run_editor.texts[document] == "# a note\n" + variant.source


async def test_apply_variant_explains_unknown_runs_and_variants(
    run_editor: EditorClient, finished_run: FinishedRun, document: str
) -> None:
    run_id = finished_run.result["run_id"]
    unknown_run = await run_editor.execute(
        "nnevolve.applyVariant", {"uri": document, "run": "no-such-run", "variant": 1}
    )
    assert "no run 'no-such-run'" in unknown_run["reason"]
    unknown_variant = await run_editor.execute(
        "nnevolve.applyVariant", {"uri": document, "run": run_id, "variant": 10_000}
    )
    assert f"run {run_id} has no Pareto variant 10000" in unknown_variant["reason"]
    bad = await run_editor.execute("nnevolve.applyVariant", {"uri": document})
    assert bad["applied"] is False and '"run" must be' in bad["reason"]


async def test_a_file_that_no_longer_matches_its_run_offers_nothing(
    run_editor: EditorClient, finished_run: FinishedRun
) -> None:
    base = finished_run.model_file.read_text()
    other = base.replace("nn.Linear(64, 32)", "nn.Linear(64, 48)").replace(
        "nn.Linear(32, 10)", "nn.Linear(48, 10)"
    )
    uri = run_editor.open(finished_run.model_file, text=other)
    try:
        assert await run_editor.code_actions(uri, class_line(other)) == []
    finally:
        run_editor.close(uri)
    # comments and formatting do not change a network: such a file is still offered its run
    uri = run_editor.open(finished_run.model_file, text="# my notes\n" + base)
    try:
        assert await run_editor.code_actions(uri, class_line(base) + 1)
    finally:
        run_editor.close(uri)


async def test_code_actions_are_only_offered_on_the_model_class(
    run_editor: EditorClient, finished_run: FinishedRun, document: str
) -> None:
    text = finished_run.model_file.read_text()
    assert await run_editor.code_actions(document, 0) == []  # the import line
    last = len(text.splitlines()) - 1  # the class's last line still counts
    assert await run_editor.code_actions(document, last)
    only_fixes = await run_editor.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=document),
            range=types.Range(
                start=types.Position(class_line(text), 0), end=types.Position(class_line(text), 0)
            ),
            context=types.CodeActionContext(diagnostics=[], only=[types.CodeActionKind.QuickFix]),
        )
    )
    assert not only_fixes
