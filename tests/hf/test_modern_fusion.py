"""A shared-encoding export (tests/test_fusion_training.py) in the modern environments."""

import json
import os

import pytest

pytestmark = pytest.mark.modern

FIXTURE = os.path.join(os.environ.get("SRL_PLUGIN_MODERN_FIXTURE", ""), "fused")


def test_labeler_gives_the_tags_of_allennlp_predict():
    from srl_plugin.hf import SemanticRoleLabeler

    if not os.path.isfile(os.path.join(FIXTURE, "expected.json")):
        pytest.fail(f"no fused export fixture at {FIXTURE!r}: run the AllenNLP tests first")
    with open(os.path.join(FIXTURE, "expected.json")) as expected_file:
        cases = json.load(expected_file)
    labeler = SemanticRoleLabeler.from_pretrained(os.path.join(FIXTURE, "export"), batch_size=7)
    outputs = labeler.predict_batch([case["input"] for case in cases])
    assert [[v["tags"] for v in output["verbs"]] for output in outputs] == [
        case["tags"] for case in cases
    ]
