"""
The output formats against the real tools: CoNLL output scored by allennlp-models' own
`srl-eval.pl` (perl), and the HTML page rendered by a real headless Chromium.
"""

import html
import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest

from srl_plugin.hf.formats import conll_block, render_html
from srl_plugin.hf.labels import bio_tags_to_spans
from srl_plugin.hf.srl_eval import count_bio_batch
from tests import EWT_SAMPLE, PROJECT_ROOT
from tests.conll import read_conll_sentences
from tests.hf.browser import assert_screenshot, dump_dom


# The script ships with allennlp-models, and trained_run needs AllenNLP: its environment only.
@pytest.mark.skipif(
    importlib.util.find_spec("allennlp_models") is None, reason="needs allennlp-models"
)
def test_conll_output_scored_by_srl_eval_pl_equals_python_f1(srl_eval_pl, trained_run, tmp_path):
    sentences = read_conll_sentences(str(EWT_SAMPLE))
    lines = [
        json.dumps({"tokens": words, "predicates": [predicate for predicate, _ in frames]})
        for words, frames in sentences
    ]
    (tmp_path / "input.jsonl").write_text("\n".join(lines) + "\n")
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT), OMP_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, "-m", "srl_plugin.hf.cli.label", str(trained_run / "hf_model"),
         str(tmp_path / "input.jsonl"), "--format", "conll", "-o", str(tmp_path / "predicted.txt")],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    gold = "".join(
        conll_block(
            {"words": words, "verbs": [{"predicate_indices": p, "tags": t} for p, t in frames]}
        )
        for words, frames in sentences
    )
    (tmp_path / "gold.txt").write_text(gold)
    script = subprocess.run(
        ["perl", srl_eval_pl, str(tmp_path / "gold.txt"), str(tmp_path / "predicted.txt")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    overall = re.search(r"^\s*Overall\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)",
                        script.stdout, re.MULTILINE)  # fmt: skip
    assert overall, script.stdout
    correct, excess, missed = (int(overall.group(i)) for i in (1, 2, 3))

    # The same predictions scored in Python, frame by frame, from the JSON output's tags.
    predicted = subprocess.run(
        [sys.executable, "-m", "srl_plugin.hf.cli.label", str(trained_run / "hf_model"),
         str(tmp_path / "input.jsonl")],
        env=env, capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    verb_indices, words_list, predicted_tags, gold_tags = [], [], [], []
    for (words, frames), line in zip(sentences, predicted):
        for (predicate, tags), verb in zip(frames, json.loads(line)["verbs"]):
            assert verb["predicate_indices"] == predicate
            verb_indices.append(predicate[0])
            words_list.append(words)
            predicted_tags.append(verb["tags"])
            gold_tags.append(tags)
    counts = count_bio_batch(verb_indices, words_list, predicted_tags, gold_tags)
    true_positives, false_positives, false_negatives = counts.totals()
    assert (correct, excess, missed) == (true_positives, false_positives, false_negatives)
    assert len(gold_tags) == 207 and correct > 20  # A trained model: real arguments found.
    f1 = 2 * true_positives / (2 * true_positives + false_positives + false_negatives)
    assert float(overall.group(6)) == pytest.approx(100 * f1, abs=0.005)


def test_html_page_in_a_headless_browser(labeler, tmp_path):
    sentences = [
        "The man said it was over because he wanted to go .",
        ["Mary", "gave", "<b>John</b>", "a", "book", "&", "a", "pen", "."],  # Markup as text.
        "我们今天去北京。",
    ]
    results = labeler.predict_batch(sentences) + [{"error": "line is not valid JSON"}]
    expected_spans = [
        (verb["verb"], role)
        for result in results[:3]
        for verb in result["verbs"]
        for role, _, _ in bio_tags_to_spans(verb["tags"])
    ]
    assert len(expected_spans) > 5
    page = tmp_path / "page.html"
    page.write_text(render_html(results, title="srl_plugin test"), encoding="utf-8")
    dom = dump_dom(page)
    # The DOM the browser built: every frame, every role span, in order, with its label.
    frames = re.findall(r'<div class="frame" data-verb="([^"]*)">(.*?)</div>', dom)
    assert len(frames) == sum(len(r["verbs"]) for r in results[:3])
    seen = [
        (html.unescape(verb), role)
        for verb, body in frames
        for role in re.findall(r'<mark class="role" data-role="([^"]+)"', body)
    ]
    assert seen == expected_spans
    assert "<b>John</b>" not in dom and "&lt;b&gt;John&lt;/b&gt;" in dom
    assert "line is not valid JSON" in dom and "<title>srl_plugin test</title>" in dom
    assert_screenshot(page, tmp_path)
