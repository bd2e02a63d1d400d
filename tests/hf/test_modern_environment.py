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


# BERT's export (tests/test_training.py) is at the top of the fixture folder, every other
# family's in a subfolder (tests/test_families.py).
FAMILIES = ["bert", "roberta", "xlm-roberta", "deberta-v2", "electra", "albert"]


@pytest.fixture(scope="module", params=FAMILIES)
def fixture_dir(request):
    folder = FIXTURE if request.param == "bert" else os.path.join(FIXTURE, request.param)
    if not os.path.isfile(os.path.join(folder, "expected.json")):
        pytest.fail(
            f"no {request.param} export fixture at SRL_PLUGIN_MODERN_FIXTURE={FIXTURE!r}: run the "
            "AllenNLP tests first"
        )
    return folder


def test_allennlp_is_not_installed():
    with pytest.raises(ImportError):
        import allennlp  # noqa: F401
    import srl_plugin.hf  # noqa: F401

    assert "allennlp" not in sys.modules


def test_plain_transformers_loads_the_export(fixture_dir):
    from transformers import AutoModelForTokenClassification

    model, info = AutoModelForTokenClassification.from_pretrained(
        os.path.join(fixture_dir, "export"), output_loading_info=True
    )
    assert len(info["missing_keys"]) == 0
    assert model.config.architectures[0].endswith("ForSemanticRoleLabeling")
    # The predicate and sense heads are srl_plugin's: unused weights of the stock class.
    heads = ("predicate_classifier.", "sense_classifier.")
    assert all(k.startswith(heads) for k in info["unexpected_keys"])


def test_auto_class_loads_the_safetensors_export_and_card_parses(fixture_dir):
    from transformers import AutoModelForTokenClassification

    from tests.hf.card_checks import check_card_metrics

    export = os.path.join(fixture_dir, "export")
    assert "model.safetensors" in os.listdir(export)
    assert "pytorch_model.bin" not in os.listdir(export)
    model = AutoModelForTokenClassification.from_pretrained(export)
    # The family's stock class: BertForTokenClassification for BERT, RobertaFor... for RoBERTa.
    srl_class = model.config.architectures[0]
    assert type(model).__name__ == srl_class.replace(
        "ForSemanticRoleLabeling", "ForTokenClassification"
    )
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

    from srl_plugin.hf import aligner_from_pretrained

    export = os.path.join(fixture_dir, "export")
    tokenizer = AutoTokenizer.from_pretrained(export)
    aligner = aligner_from_pretrained(export)
    for case in json.load(open(os.path.join(fixture_dir, "expected.json")))[:50]:
        words = case["input"]["tokens"]
        encoded = tokenizer(words, is_split_into_words=True)
        assert encoded["input_ids"] == aligner.tokenize(words).ids


def test_save_pretrained_round_trip(fixture_dir, tmp_path):
    from srl_plugin.hf import AutoModelForSemanticRoleLabeling

    export = os.path.join(fixture_dir, "export")
    model = AutoModelForSemanticRoleLabeling.from_pretrained(export).eval()
    model.save_pretrained(tmp_path)
    again = AutoModelForSemanticRoleLabeling.from_pretrained(tmp_path).eval()
    assert type(again) is type(model)
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
