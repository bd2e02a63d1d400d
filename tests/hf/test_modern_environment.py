"""
The export of an AllenNLP training run, in the environment where it is used: Python 3.11+,
torch 2.x, the newest transformers, no AllenNLP. `.ci/run` trains in the AllenNLP environment
(tests/test_training.py writes the fixture to $SRL_PLUGIN_MODERN_FIXTURE) and then runs this file
here with `-m modern`.
"""

import json
import os
import sys

import pytest
import torch

pytestmark = pytest.mark.modern

FIXTURE = os.environ.get("SRL_PLUGIN_MODERN_FIXTURE", "")


@pytest.fixture(scope="module")
def fixture_dir():
    if not os.path.isfile(os.path.join(FIXTURE, "expected.json")):
        pytest.fail(
            f"no export fixture at SRL_PLUGIN_MODERN_FIXTURE={FIXTURE!r}: run the AllenNLP tests first"
        )
    return FIXTURE


def test_allennlp_is_not_installed():
    with pytest.raises(ImportError):
        import allennlp  # noqa: F401
    import srl_plugin.hf  # noqa: F401

    assert "allennlp" not in sys.modules


def test_plain_transformers_loads_the_export(fixture_dir):
    from transformers import BertForTokenClassification

    model, info = BertForTokenClassification.from_pretrained(
        os.path.join(fixture_dir, "export"), output_loading_info=True
    )
    assert len(info["missing_keys"]) == 0
    assert all(k.startswith("predicate_classifier.") for k in info["unexpected_keys"])


def test_auto_class_loads_the_safetensors_export_and_card_parses(fixture_dir):
    from transformers import AutoModelForTokenClassification

    from tests.hf.card_checks import check_card_metrics

    export = os.path.join(fixture_dir, "export")
    assert "model.safetensors" in os.listdir(export)
    assert "pytorch_model.bin" not in os.listdir(export)
    model = AutoModelForTokenClassification.from_pretrained(export)
    assert type(model).__name__ == "BertForTokenClassification"
    check_card_metrics(export, os.path.join(fixture_dir, "metrics.json"))


def test_labeler_gives_the_tags_of_allennlp_predict(fixture_dir):
    from srl_plugin.hf import SemanticRoleLabeler

    expected = json.load(open(os.path.join(fixture_dir, "expected.json")))
    labeler = SemanticRoleLabeler.from_pretrained(
        os.path.join(fixture_dir, "export"), batch_size=16
    )
    outputs = labeler.predict_batch([case["input"] for case in expected])
    for case, output in zip(expected, outputs):
        assert [verb["tags"] for verb in output["verbs"]] == case["tags"]


def test_tokenizer_files_reproduce_the_alignment(fixture_dir):
    from transformers import AutoTokenizer

    from srl_plugin.hf import WordPieceAligner

    export = os.path.join(fixture_dir, "export")
    tokenizer = AutoTokenizer.from_pretrained(export)
    aligner = WordPieceAligner.from_pretrained(export)
    for case in json.load(open(os.path.join(fixture_dir, "expected.json")))[:50]:
        words = case["input"]["tokens"]
        encoded = tokenizer(words, is_split_into_words=True)
        assert encoded["input_ids"] == aligner.tokenize(words).ids


def test_save_pretrained_round_trip(fixture_dir, tmp_path):
    from srl_plugin.hf import BertForSemanticRoleLabeling

    model = BertForSemanticRoleLabeling.from_pretrained(os.path.join(fixture_dir, "export")).eval()
    model.save_pretrained(tmp_path)
    again = BertForSemanticRoleLabeling.from_pretrained(tmp_path).eval()
    ids = torch.tensor([[2, 10, 11, 12, 3]])
    with torch.no_grad():
        first, second = model(input_ids=ids), again(input_ids=ids)
    assert torch.equal(first.logits, second.logits)
    assert torch.equal(first.predicate_logits, second.predicate_logits)
    assert again.config.id2label == model.config.id2label


def test_pipeline_task(fixture_dir):
    from transformers import pipeline

    import srl_plugin.hf.pipeline  # noqa: F401  (registers the task)

    srl = pipeline("semantic-role-labeling", model=os.path.join(fixture_dir, "export"))
    case = json.load(open(os.path.join(fixture_dir, "expected.json")))[0]
    output = srl(case["input"])
    assert [verb["tags"] for verb in output["verbs"]] == case["tags"]
