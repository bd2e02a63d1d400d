"""
The output formats of frames with a predicate sense (`lemma`, `roleset`, `roleset_name`,
`sense_score`, `sense_from_model`, and each argument's `role_description`): CoNLL blocks that
`srl-eval.pl` scores as before, an HTML page rendered by a real headless Chromium, JSON lines.
"""

import html
import importlib.util
import json
import re
import subprocess
from typing import Any, Dict, List

from srl_plugin.hf.conll import read_conll2012
from srl_plugin.hf.documents import DocumentEnd, DocumentSentences, DocumentStart
from srl_plugin.hf.formats import conll_block, document_piece, html_section, json_line, render_html
from srl_plugin.hf.outputs import frame_result
from srl_plugin.hf.srl_eval import _ColumnReader, _evaluate_files
from tests import EWT_SAMPLE
from tests.hf.browser import assert_screenshot, dump_dom

SENSE_KEYS = ("lemma", "roleset", "roleset_name", "sense_score", "sense_from_model")


def approved_result() -> Dict[str, Any]:
    """A sentence with two frames: a sense from the model and a fallback one, markup as text."""
    words = ["The", "board", "has", "approved", "the", "<plan>", "&", "budget", "."]
    approve = frame_result(
        words, [3], ["B-ARG0", "I-ARG0", "O", "B-V", "B-ARG1", "I-ARG1", "I-ARG1", "I-ARG1", "O"]
    )
    approve.update(lemma="approve", roleset="approve.01", roleset_name="approve, sanction")
    approve.update(sense_score=0.9731, sense_from_model=True, score=0.9512)
    approve["arguments"][0].update(role_description="approver", score=0.95)
    approve["arguments"][1]["role_description"] = "thing approved <& co>"
    have = frame_result(words, [2], ["O", "O", "B-V", "B-ARG1", "O", "O", "O", "O", "O"])
    have.update(lemma="have", roleset="have.01", roleset_name="own & possess")
    have["sense_from_model"] = False  # A fallback: no score.
    return {"words": words, "verbs": [approve, have]}


def without_senses(result: Dict[str, Any]) -> Dict[str, Any]:
    """The same result as a model without a sense head gives it."""
    verbs = []
    for verb in result["verbs"]:
        verb = {key: value for key, value in verb.items() if key not in SENSE_KEYS}
        verb["arguments"] = [
            {key: value for key, value in argument.items() if key != "role_description"}
            for argument in verb["arguments"]
        ]
        verbs.append(verb)
    return dict(result, verbs=verbs)


def test_conll_block_ends_with_lemma_and_roleset_columns():
    result = approved_result()
    rows = [line.split() for line in conll_block(result).splitlines()]
    assert rows[-1] == [] and len(rows) == len(result["words"]) + 1
    # Frames in predicate order (has, approved), then the lemma and roleset columns.
    assert rows[2] == ["has", "(V*)", "*", "have", "have.01"]
    assert rows[3] == ["approved", "(ARG1*)", "(V*)", "approve", "approve.01"]
    assert rows[0] == ["-", "*", "(ARG0*", "-", "-"]
    # Without them, the block is today's: the same lines less the two last columns.
    plain = [line.split() for line in conll_block(without_senses(result)).splitlines()]
    assert plain == [row[:-2] for row in rows[:-1]] + [[]]
    assert all(len(row) == 3 for row in plain[:-1])


def test_conll_sense_cells_have_no_white_space():
    words = ["They", "took", "off", "."]
    verb = frame_result(words, [1], ["B-ARG0", "B-V", "O", "O"])
    verb.update(lemma="take off", roleset="take.09")
    other = frame_result(words, [2], ["O", "O", "B-V", "O"])
    other["roleset"] = "off.01"  # No lemma: "-", as on the lines of other words.
    rows = [
        line.split() for line in conll_block({"words": words, "verbs": [verb, other]}).split("\n")
    ]
    assert rows[1][-2:] == ["take_off", "take.09"] and rows[2][-2:] == ["-", "off.01"]


def _perturbed(tags: List[str], number: int) -> List[str]:
    # Predictions with errors of both kinds, so that the scores are not all 100: every third
    # frame misses its arguments, every third labels ARG1 as ARG2.
    if number % 3 == 0:
        return [tag if tag.endswith("-V") else "O" for tag in tags]
    if number % 3 == 1:
        return [tag.replace("-ARG1", "-ARG2") for tag in tags]
    return tags


def test_srl_eval_scores_blocks_with_rolesets_as_without(tmp_path, request):
    gold, predicted, gold_senses = [], [], []
    for sentence in read_conll2012(str(EWT_SAMPLE), keep_lines=True):
        words, gold_verbs, predicted_verbs = sentence.words, [], []
        senses = zip(sentence.frame_predicates, sentence.frames, sentence.frame_lemmas,
                     sentence.frame_rolesets)  # fmt: skip
        for predicate, tags, lemma, roleset in senses:
            gold_verbs.append(frame_result(words, predicate, tags))
            verb = frame_result(words, predicate, _perturbed(tags, len(gold_senses)))
            verb.update(lemma=lemma, roleset=roleset, sense_score=0.5, sense_from_model=True)
            predicted_verbs.append(verb)
            gold_senses.append((len(gold), predicate[0], lemma, roleset))
        gold.append({"words": words, "verbs": gold_verbs})
        predicted.append({"words": words, "verbs": predicted_verbs})
    assert len(gold_senses) == 207 and all(roleset for *_, roleset in gold_senses)
    with_senses = "".join(conll_block(result) for result in predicted)
    plain = "".join(conll_block(without_senses(result)) for result in predicted)
    # The lemmas and rolesets read back from the last two columns are the gold file's (7, 8).
    read_back = [
        (number, index, row[-2], row[-1])
        for number, block in enumerate(with_senses.split("\n\n")[:-1])
        for index, row in enumerate(line.split() for line in block.split("\n"))
        if row[0] != "-"
    ]
    assert sorted(read_back) == sorted(gold_senses)

    # The Python port of srl-eval.pl (both environments) counts the same with or without them.
    gold_text = "".join(conll_block(result) for result in gold)

    def port(predicted_text: str):
        files = (_ColumnReader(text.split("\n")) for text in (gold_text, predicted_text))
        return _evaluate_files(*files).totals()

    correct, excess, missed = port(with_senses)
    assert (correct, excess, missed) == port(plain)
    assert correct > 100 and excess > 10 and missed > 10
    if importlib.util.find_spec("allennlp_models") is None:
        return  # srl-eval.pl ships with allennlp-models: the AllenNLP environment runs it below.
    for name, text in (("gold", gold_text), ("senses", with_senses), ("plain", plain)):
        (tmp_path / f"{name}.conll").write_text(text, encoding="utf-8")

    def script(predicted_name: str) -> str:
        return subprocess.run(
            ["perl", request.getfixturevalue("srl_eval_pl"), str(tmp_path / "gold.conll"),
             str(tmp_path / f"{predicted_name}.conll")], capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip

    scored = script("senses")
    assert scored == script("plain")
    overall = re.search(r"^\s*Overall\s+(\d+)\s+(\d+)\s+(\d+)", scored, re.MULTILINE)
    assert overall and tuple(int(overall.group(i)) for i in (1, 2, 3)) == (correct, excess, missed)


def test_conll_document_with_senses_is_its_sentences_blocks():
    result = approved_result()
    pieces = [
        DocumentStart({"id": "doc 1"}),
        DocumentSentences(0, [result]),
        DocumentSentences(1, [without_senses(result)]),
        DocumentEnd(2),
    ]
    text = "".join(document_piece("conll", piece) for piece in pieces)
    assert text == (
        "#begin document (doc_1); part 000\n"
        + conll_block(result)
        + conll_block(without_senses(result))
        + "#end document\n"
    )
    assert "approve.01" in text


def test_json_line_round_trips_sense_keys():
    result = approved_result()
    result["verbs"][0]["arguments"][0]["role_description"] = "approbateur, café"
    line = json_line(result)
    assert line.endswith("}\n") and line.count("\n") == 1 and "café" in line
    assert json.loads(line) == result
    verb = json.loads(line)["verbs"][0]
    assert verb["sense_score"] == 0.9731 and verb["sense_from_model"] is True
    assert json.loads(line)["verbs"][1]["sense_from_model"] is False


def test_html_without_senses_has_no_sense_markup():
    section = html_section(without_senses(approved_result()))
    assert "roleset" not in section and "gloss" not in section and "sense" not in section
    assert re.findall(r'<div class="frame" [^>]*>', section) == [
        '<div class="frame" data-verb="approved">',
        '<div class="frame" data-verb="has">',
    ]


def test_html_page_with_senses_in_a_headless_browser(tmp_path):
    results = [approved_result(), without_senses(approved_result())]
    page = tmp_path / "page.html"
    page.write_text(render_html(results, title="senses"), encoding="utf-8")
    dom = dump_dom(page)
    frames = re.findall(
        r'<div class="frame" data-verb="([^"]*)"(?: data-roleset="([^"]*)")?>(.*?)</div>',
        dom,
    )
    assert [(verb, roleset) for verb, roleset, _ in frames] == [
        ("approved", "approve.01"), ("has", "have.01"), ("approved", ""), ("has", "")
    ]  # fmt: skip
    marks = [
        {
            (html.unescape(role), html.unescape(title)): re.sub(r"<[^>]+>", "|", body)
            for role, title, body in re.findall(
                r'<mark class="role" data-role="([^"]+)" title="([^"]*)"[^>]*>(.*?)</mark>', frame
            )
        }
        for _, _, frame in frames
    ]
    # The roleset and its name after the predicate's label, each role's description after its
    # label and in its title (the text escaped, so the page shows it as written).
    assert marks[0] == {
        ("ARG0", "ARG0 0.95: approver"): "The board|ARG0||approver|",
        ("V", "V: approve.01 (approve, sanction)"): "approved|V||approve.01||approve, sanction|",
        ("ARG1", "ARG1: thing approved <& co>"):
            "the &lt;plan&gt; &amp; budget|ARG1||thing approved &lt;&amp; co&gt;|",
    }  # fmt: skip
    assert marks[1] == {
        ("V", "V: have.01 (own & possess), a fallback: not predicted by the model"):
            "has|V||have.01||own &amp; possess|",
        ("ARG1", "ARG1"): "approved|ARG1|",
    }  # fmt: skip
    assert '<span class="roleset fallback">have.01</span>' in frames[1][2]
    scores = re.findall(r'<span class="frame-score">([^<]*)</span>', dom)
    assert scores == ["frame score 0.95 · sense score 0.97", "fallback sense", "frame score 0.95"]
    # Without senses, the frames are as before: labels only.
    assert marks[2] == {
        ("ARG0", "ARG0 0.95"): "The board|ARG0|",
        ("V", "V"): "approved|V|",
        ("ARG1", "ARG1"): "the &lt;plan&gt; &amp; budget|ARG1|",
    }
    assert "gloss" not in frames[2][2] + frames[3][2] and "roleset" not in frames[3][2]
    assert_screenshot(page, tmp_path)


def test_html_sense_of_a_frame_without_a_predicate_tag_opens_the_frame():
    # An untrained model can tag the predicate's word O: the roleset is still shown.
    verb = frame_result(["It", "rains"], [1], ["O", "O"])
    verb.update(lemma="rain", roleset="rain.01", sense_score=0.61, sense_from_model=True)
    section = html_section({"words": ["It", "rains"], "verbs": [verb]})
    frame = '<div class="frame" data-verb="rains" data-roleset="rain.01">'
    assert f'{frame}<span title="rain.01"><span class="roleset">rain.01</span></span> It' in section
