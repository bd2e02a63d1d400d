"""
The sense-head export of an AllenNLP training run (tests/test_sense_training.py writes it to
$SRL_PLUGIN_MODERN_FIXTURE/senses) in the modern environments: the same roleset for every frame
as the AllenNLP model gave, from the model's own sense logits and `SenseDecoder`, and from every
output (the labeler, the pipeline, `srl-label`, Ray Data, the spaCy component), each argument
with its role's meaning; the head decides the roleset; the stock token-classification class
loads it with the head unused.
"""

import json
import os
import subprocess
import sys

import pytest
import torch

from tests import PROJECT_ROOT

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


def _inputs(cases):
    return [case["input"] for case in cases]


def _rolesets(outputs):
    return [output["verbs"][0]["roleset"] for output in outputs]


def test_every_output_gives_the_allennlp_models_rolesets_and_role_meanings(cases, tmp_path):
    from srl_plugin.hf import SemanticRoleLabeler
    from srl_plugin.hf.rolesets import RolesetTable

    expected = [case["roleset"] for case in cases]
    export = os.path.join(FIXTURE, "export")
    labeler = SemanticRoleLabeler.from_pretrained(export, batch_size=3)
    outputs = labeler.predict_batch(_inputs(cases))
    assert _rolesets(outputs) == expected
    table = RolesetTable.shipped()
    described = 0
    for output in outputs:
        frame = output["verbs"][0]
        entry = table.get(frame["roleset"])
        assert frame.get("roleset_name") == (entry.name if entry is not None else None)
        assert frame["sense_from_model"] == ("sense_score" in frame)
        for argument in frame["arguments"]:
            meaning = entry.describe(argument["role"]) if entry is not None else None
            assert argument.get("role_description") == meaning
            described += meaning is not None
    assert described, "no argument of the fixture got its role's meaning"

    # `senses=False`: today's frames, without any sense key.
    plain = SemanticRoleLabeler.from_pretrained(export, senses=False).predict_batch(_inputs(cases))
    assert [[v["tags"] for v in o["verbs"]] for o in plain] == [
        [v["tags"] for v in o["verbs"]] for o in outputs
    ]
    assert not any("roleset" in v or "lemma" in v for o in plain for v in o["verbs"])

    # srl-label, from the console script's module, JSONL in and out.
    source = tmp_path / "frames.jsonl"
    source.write_text("".join(json.dumps(item) + "\n" for item in _inputs(cases)))
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT), OMP_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, "-m", "srl_plugin.hf.cli.label", export, str(source)],
        capture_output=True,
        env=env,
        cwd=str(PROJECT_ROOT),
    )
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    labelled = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert labelled == json.loads(json.dumps(outputs))


def test_the_pipeline_gives_the_allennlp_models_rolesets(cases):
    from transformers import pipeline

    import srl_plugin.hf.pipeline  # noqa: F401  (registers the task)

    srl = pipeline("semantic-role-labeling", model=os.path.join(FIXTURE, "export"), batch_size=2)
    outputs = [srl(item) for item in _inputs(cases)]
    assert _rolesets(outputs) == [case["roleset"] for case in cases]


def test_the_sense_head_decides_the_roleset(cases):
    """A bias for one roleset of a lemma makes it every frame's of that lemma, and only there."""
    from srl_plugin.hf import SemanticRoleLabeler

    labeler = SemanticRoleLabeler.from_pretrained(os.path.join(FIXTURE, "export"))
    decoder = labeler.sense_decoder
    assert decoder is not None
    rolesets = decoder.rolesets
    for favoured in ("run.01", "run.02"):
        with torch.no_grad():
            labeler.model.sense_classifier.bias[rolesets.index(favoured)] += 1000.0
        frames = [output["verbs"][0] for output in labeler.predict_batch(_inputs(cases))]
        with torch.no_grad():
            labeler.model.sense_classifier.bias[rolesets.index(favoured)] -= 1000.0
        runs = [frame for frame in frames if frame["lemma"] == "run"]
        assert runs and all(frame["roleset"] == favoured for frame in runs)
        assert all(frame["sense_score"] == 1.0 for frame in runs)
        # Design B: another lemma's frames keep choosing among their own rolesets.
        assert all(
            frame["roleset"].startswith(frame["lemma"] + ".")
            for frame in frames
            if frame["lemma"] in ("have", "see")
        )


def test_the_spacy_component_gives_the_rolesets_on_the_doc(cases):
    spacy = pytest.importorskip("spacy")
    from spacy.tokens import Doc

    import srl_plugin.spacy_srl  # noqa: F401  (registers the factory)

    nlp = spacy.blank("en")
    nlp.add_pipe("semantic_role_labeler", config={"model": os.path.join(FIXTURE, "export")})
    docs = []
    for case in cases:
        words, [predicate] = case["input"]["tokens"], case["input"]["predicates"]
        predicate = predicate if isinstance(predicate, list) else [predicate]
        doc = Doc(nlp.vocab, words=words, sent_starts=[True] + [False] * (len(words) - 1))
        doc.spans["srl_predicates"] = [doc[min(predicate) : max(predicate) + 1]]
        docs.append(doc)
    labelled = list(nlp.pipe(docs, batch_size=3))
    frames = [doc._.srl_frames[0] for doc in labelled]
    assert [frame["roleset"] for frame in frames] == [case["roleset"] for case in cases]
    # Reachable from the predicate's token too, with the roles' meanings.
    token = labelled[0][frames[0]["predicate"].start]
    assert token._.srl_frames[0]["roleset"] == frames[0]["roleset"]
    assert any("role_description" in a for frame in frames for a in frame["arguments"])


def test_ray_data_gives_the_allennlp_models_rolesets(cases, tmp_path):
    """`map_batches(SrlLabeler)` on a local Ray: the same JSON lines, senses included."""
    ray = pytest.importorskip("ray")  # the `ray` extra: installed in .venv-hf5 by the Makefile
    from tests.hf.test_ray_data import _labelled_on_ray

    source = tmp_path / "frames.jsonl"
    source.write_text("".join(json.dumps(item) + "\n" for item in _inputs(cases)))
    export = os.path.join(FIXTURE, "export")
    outputs = [
        json.loads(line)
        for line in _labelled_on_ray(ray, source, {"export": export, "input_format": "jsonl"})
    ]
    assert _rolesets(outputs) == [case["roleset"] for case in cases]
    assert any("role_description" in a for o in outputs for a in o["verbs"][0]["arguments"])
