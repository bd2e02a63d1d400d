"""
The sense-head export of an AllenNLP training run (tests/test_sense_training.py writes it to
$SRL_PLUGIN_MODERN_FIXTURE/senses) in the modern environments: the same roleset for every frame
as the AllenNLP model gave, from the model's own sense logits and `SenseDecoder`; the stock
token-classification class loads it with the sense head unused.
"""

import json
import os

import pytest
import torch

pytestmark = pytest.mark.modern

FIXTURE = os.path.join(os.environ.get("SRL_PLUGIN_MODERN_FIXTURE", ""), "senses")


@pytest.fixture(scope="module")
def cases():
    if not os.path.isfile(os.path.join(FIXTURE, "expected.json")):
        pytest.fail(f"no sense-head export fixture at {FIXTURE!r}: run the AllenNLP tests first")
    with open(os.path.join(FIXTURE, "expected.json")) as expected_file:
        return json.load(expected_file)


def test_the_export_gives_the_rolesets_of_the_allennlp_model(cases):
    from srl_plugin.hf import SemanticRoleLabeler
    from srl_plugin.hf.frames import wordpiece_frame
    from srl_plugin.hf.senses import SenseDecoder

    labeler = SemanticRoleLabeler.from_pretrained(os.path.join(FIXTURE, "export"), batch_size=4)
    decoder = SenseDecoder.of(labeler.model)
    assert decoder is not None and len(decoder.rolesets) > 1
    frames, predicates = [], []
    for case in cases:
        words, [predicate] = case["input"]["tokens"], case["input"]["predicates"]
        predicate = predicate if isinstance(predicate, list) else [predicate]
        frames.append(wordpiece_frame(labeler.aligner, words, predicate, labeler.max_wordpieces))
        predicates.append(" ".join(words[i] for i in predicate))
    with torch.no_grad():
        logits = labeler.forward(frames).sense_logits
    rolesets = [sense.roleset for sense in decoder.decode(logits, predicates)]
    assert rolesets == [case["roleset"] for case in cases]


def test_stock_class_loads_the_export_with_the_sense_head_unused():
    from transformers import AutoModelForTokenClassification

    export = os.path.join(FIXTURE, "export")
    if not os.path.isfile(os.path.join(export, "config.json")):
        pytest.fail(f"no sense-head export at {export!r}: run the AllenNLP tests first")
    _, info = AutoModelForTokenClassification.from_pretrained(export, output_loading_info=True)
    assert not info["missing_keys"]
    assert {"sense_classifier.weight", "sense_classifier.bias"} <= set(info["unexpected_keys"])
