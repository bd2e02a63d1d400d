"""
`allennlp predict` on a model without a predicate-identification head (an allennlp-models
`srl_bert` archive, converted): lines without predicates get an error saying how to give them,
every other line is still labelled, with the tags the export's own logits give.
"""

import json

import pytest

from tests.cli import allennlp_command
from tests.plain_forward import PlainForward

LINES = [
    json.dumps({"sentence": "The company said it would buy the shares ."}),
    json.dumps({"sentence": "The company said it would buy the shares .", "predicates": [2, 5]}),
    "not json",
    json.dumps({"tokens": ["I", "want", "to", "go", "home"]}),
    json.dumps({"tokens": ["I", "want", "to", "go", "home"], "predicates": [[1]]}),
    json.dumps({"sentence": "They broke up ."}),
    json.dumps({"tokens": ["a", "b"], "predicates": [5]}),
    json.dumps({"sentence": "They broke up .", "predicates": [[1, 2]]}),
]


def test_headless_archive_answers_each_line(srl_bert_run, tmp_path):
    export, archive = tmp_path / "export", tmp_path / "imported.tar.gz"
    for command, source, target in (
        ("srl-export", srl_bert_run / "model.tar.gz", export),
        ("srl-import", export, archive),
    ):
        result = allennlp_command(command, str(source), str(target))
        assert result.returncode == 0, result.stderr[-2000:]
    input_file, output_file = tmp_path / "input.jsonl", tmp_path / "output.jsonl"
    input_file.write_text("\n".join(LINES) + "\n")
    result = allennlp_command(
        "predict", str(archive), str(input_file), "--batch-size", "3",
        "--output-file", str(output_file), "--silent",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    outputs = [json.loads(line) for line in output_file.read_text().splitlines()]
    assert len(outputs) == len(LINES)
    errors = {i: o["error"] for i, o in enumerate(outputs) if "error" in o}
    assert sorted(errors) == [0, 2, 3, 5, 6]
    for index in (0, 3, 5):
        assert "no predicate-identification head" in errors[index]
        assert '"predicates": [2]' in errors[index]
        assert outputs[index]["input"] == json.loads(LINES[index])
    assert "not valid JSON" in errors[2] and "outside the sentence" in errors[6]
    assert [v["verb"] for v in outputs[1]["verbs"]] == ["said", "buy"]
    assert outputs[1]["verbs"][0]["char_start"] == 12 and outputs[1]["verbs"][0]["char_end"] == 16
    assert [v["predicate_indices"] for v in outputs[4]["verbs"]] == [[1]]
    assert outputs[7]["verbs"][0]["verb"] == "broke up"
    assert outputs[7]["verbs"][0]["predicate_indices"] == [1, 2]
    # Each frame is what a plain forward of the export gives with all the predicate's words
    # marked (not tags the tiny model happens to learn: "broke up" may be tagged I-V B-V).
    plain = PlainForward(str(export))
    for index in (1, 4, 7):
        for verb in outputs[index]["verbs"]:
            tags, score = plain.frame(outputs[index]["words"], verb["predicate_indices"])
            assert verb["tags"] == tags, (index, verb["verb"])
            assert verb["score"] == pytest.approx(score, abs=2e-4), (index, verb["verb"])
