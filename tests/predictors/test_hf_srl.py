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


def test_a_lone_surrogate_does_not_stop_the_run(tiny_archive, tmp_path):
    # JSON allows "\ud800"; echoed in an error object it cannot be written as UTF-8.
    lines = [
        '{"text": "\\ud800 wrong key"}',
        '{"sentence": "broken \\udfff here ."}',
        json.dumps({"sentence": "The company said it would buy the shares ."}),
    ] * 3
    input_file = tmp_path / "input.jsonl"
    input_file.write_text("\n".join(lines) + "\n")
    output_file = tmp_path / "output.jsonl"
    outputs = allennlp_predict(tiny_archive, input_file, output_file, "--batch-size", "2")
    assert len(outputs) == len(lines)
    assert "unknown keys" in outputs[0]["error"] and outputs[0]["input"] == {
        "text": "\ud800 wrong key"
    }
    assert outputs[1]["words"] == ["broken", "here", "."]  # the surrogate is dropped as a word
    assert outputs[2]["words"][:2] == ["The", "company"]
    output_file.read_bytes().decode("utf-8")  # every line valid UTF-8


def test_json_to_instance_takes_sentences(tiny_archive):
    from allennlp.predictors import Predictor

    import srl_plugin  # noqa: F401  (registers hf_srl)
    from srl_plugin.archives.archive import load_srl_archive

    predictor = Predictor.from_archive(load_srl_archive(str(tiny_archive)), "hf_srl")
    instance = predictor._json_to_instance({"sentence": "They broke up .", "predicates": [[1, 2]]})
    assert instance["metadata"]["words"] == ["They", "broke", "up", "."]
    assert instance["metadata"]["predicate_indices"] == [1, 2]
    output = predictor.predict_instance(instance)
    assert (
        output["verbs"][0]["predicate_indices"] == [1, 2] and len(output["verbs"][0]["tags"]) == 4
    )
