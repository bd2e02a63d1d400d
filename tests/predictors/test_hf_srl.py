"""
`allennlp predict` through the hf_srl predictor: bad lines get errors, the rest predictions. The
archive is the untrained `tiny_archive`: these tests check what the predictor answers, not how well.
"""

import json

from tests import EWT_SAMPLE
from tests.cli import allennlp_predict

BAD_AND_GOOD = [
    json.dumps({"sentence": "The company said it would buy the shares ."}),
    "this is not json",
    json.dumps({"tokens": ["I", "want", "to", "go", "home"], "predicates": [1, 3]}),
    json.dumps({"sentence": "   "}),
    json.dumps({"tokens": ["a", "b"], "predicates": [5]}),
    json.dumps({"text": "wrong key"}),
    json.dumps({"sentence": "Bad\x00control\x07chars in it ."}),
    json.dumps({"sentence": " ".join(["word"] * 5000), "predicates": [2500]}),
    json.dumps({"sentence": "我们今天去北京。Привет мир"}),
    json.dumps([1, 2, 3]),
    json.dumps({"tokens": ["ok", "fine"], "predicates": [True]}),
]


def test_every_line_gets_an_answer(tiny_archive, tmp_path):
    input_file = tmp_path / "input.jsonl"
    input_file.write_text("\n".join(BAD_AND_GOOD) + "\n")
    outputs = allennlp_predict(
        tiny_archive, input_file, tmp_path / "output.jsonl", "--batch-size", "4"
    )
    assert len(outputs) == len(BAD_AND_GOOD)
    errors = {i: o["error"] for i, o in enumerate(outputs) if "error" in o}
    assert sorted(errors) == [1, 3, 4, 5, 9, 10]
    assert "not valid JSON" in errors[1] and outputs[1]["input"] == "this is not json"
    assert "predicate index 5 is outside the sentence (2 words)" in errors[4]
    assert "unknown keys" in errors[5] and "not an integer" in errors[10]
    assert [v["verb"] for v in outputs[2]["verbs"]] == ["want", "go"]
    assert len(outputs[7]["words"]) == 5000 and len(outputs[7]["verbs"][0]["tags"]) == 5000
    assert outputs[6]["words"] == ["Badcontrolchars", "in", "it", "."]
    for output in outputs[2], outputs[7]:
        for verb in output["verbs"]:
            assert {"verb", "description", "tags", "arguments", "predicate_indices"} <= set(verb)


def test_use_dataset_reader_on_conll(tiny_archive, tmp_path):
    outputs = allennlp_predict(
        tiny_archive, EWT_SAMPLE, tmp_path / "output.jsonl", "--use-dataset-reader"
    )
    frames = [o for o in outputs if "verbs" in o]
    windows = [o for o in outputs if "predicates" in o]
    # 80 sentences with predicates; the one longer than the tiny encoder's 128 positions (its 55 words
    # make more wordpieces with the tiny vocabulary) is
    # read for predicate identification in two consecutive windows, as the labeler reads it.
    assert len(frames) == 227 and len(windows) == 81
    with_predicate = [o for o in frames if o["verbs"]]
    assert all(len(o["verbs"][0]["tags"]) == len(o["words"]) for o in with_predicate)
