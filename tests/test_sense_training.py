"""
Predicate senses end to end: `allennlp train` on data with rolesets (the senses fixture, where
`run` is `run.01` or `run.02` by context) gives a model with a sense head whose rolesets are the
same from the AllenNLP model, from its Hugging Face export (the plugin's class in this
environment) and after `srl-export` / `srl-import`; its metrics reach `metrics.json` and the
export's card.
"""

import gzip
import json
import os
import random
import shutil
import tarfile

import pytest
import torch
from allennlp.data import Batch
from allennlp.models.archival import load_archive

from srl_plugin.commands.console import run as run_command
from srl_plugin.hf.checkpoints.weights import read_safetensors
from srl_plugin.hf import rolesets
from srl_plugin.hf.config import config_rolesets
from srl_plugin.hf.modeling import AutoModelForSemanticRoleLabeling
from srl_plugin.hf.senses import SenseDecoder
from tests import SENSES_FIXTURE
from tests.cli import predict_frames, train_tiny
from tests.stock_loading import stock_from_pretrained

SENSE_METRICS = (
    "sense_accuracy",
    "predicate_sense_precision",
    "predicate_sense_recall",
    "predicate_sense_f1",
)


@pytest.fixture(scope="module")
def archive(senses_run):
    return load_archive(str(senses_run / "model.tar.gz"))


@pytest.fixture(scope="module")
def frames(archive):
    """The fixture's frame instances with a predicate, read by the archive's own reader."""
    instances = archive.validation_dataset_reader.read(str(SENSES_FIXTURE))
    return [i for i in instances if i["metadata"]["is_frame"] and i["metadata"]["verb"]]


def allennlp_senses(model, instances):
    """The AllenNLP model's `sense_logits` and `rolesets` of `instances`, in one batch."""
    batch = Batch(instances)
    batch.index_instances(model.vocab)
    model.eval()
    with torch.no_grad():
        output = model.make_output_human_readable(model(**batch.as_tensor_dict()))
    return output["sense_logits"], output["rolesets"]


def export_senses(export, instances):
    """The export's `sense_logits` and decoded rolesets of `instances`, frame by frame."""
    logits = []
    for instance in instances:
        ids = torch.tensor([[t.text_id for t in instance["tokens"].tokens]])
        types = torch.tensor([instance["verb_indicator"].labels])
        with torch.no_grad():
            logits.append(export(input_ids=ids, token_type_ids=types).sense_logits)
    sense_logits = torch.cat(logits)
    verbs = [i["metadata"]["verb"] for i in instances]
    senses = SenseDecoder.of(export).decode(sense_logits, verbs)
    return sense_logits, [sense.roleset for sense in senses]


def test_vocabulary_rolesets_are_the_exports_and_the_metrics_are_reported(senses_run):
    rolesets = (senses_run / "vocabulary" / "roleset_labels.txt").read_text().splitlines()
    assert sorted(rolesets) == ["have.01", "have.03", "run.01", "run.02", "see.01"]
    config = json.loads((senses_run / "hf_model" / "config.json").read_text())
    assert config_rolesets(config) == rolesets
    weights = read_safetensors(str(senses_run / "hf_model" / "model.safetensors"))
    assert tuple(weights["sense_classifier.weight"].shape) == (len(rolesets), 32)
    metrics = json.loads((senses_run / "metrics.json").read_text())
    for name in SENSE_METRICS:
        assert 0.0 <= metrics[f"best_validation_{name}"] <= 1.0, name
    # The archive carries the export and the rolesets vocabulary.
    with tarfile.open(senses_run / "model.tar.gz") as archive_file:
        names = archive_file.getnames()
    assert "vocabulary/roleset_labels.txt" in names and "hf_model/config.json" in names


def test_model_card_model_index_carries_the_sense_metrics(senses_run):
    from huggingface_hub import ModelCard

    from srl_plugin.hf.checkpoints.model_card import MODEL_INDEX_METRICS
    from tests.hf.card_checks import check_card_metrics

    check_card_metrics(str(senses_run / "hf_model"), str(senses_run / "metrics.json"))
    metrics = json.loads((senses_run / "metrics.json").read_text())
    card = ModelCard.load(str(senses_run / "hf_model" / "README.md"))
    results = card.data.to_dict()["model-index"][0]["results"]
    values = {m["name"]: m["value"] for result in results for m in result["metrics"]}
    names = {key: name for key, _, name in MODEL_INDEX_METRICS}
    for key in SENSE_METRICS:
        assert values[names[key]] == round(metrics[f"best_validation_{key}"], 4), key


def test_export_rolesets_equal_the_allennlp_models(archive, frames, senses_run):
    ours_logits, ours = allennlp_senses(archive.model, frames)
    export = AutoModelForSemanticRoleLabeling.from_pretrained(str(senses_run / "hf_model")).eval()
    assert export.rolesets == archive.model.hf_model.rolesets
    theirs_logits, theirs = export_senses(export, frames)
    assert torch.allclose(ours_logits, theirs_logits, atol=1e-5)
    assert ours == theirs
    # Every frame of the fixture gets a roleset; `said` has none in the head: the fallback.
    assert all(ours) and ours[[i["metadata"]["verb"] for i in frames].index("said")] == "say.01"
    _write_modern_fixture(senses_run, frames, ours)


def test_sense_metrics_join_a_sentences_instances_across_batches(archive):
    """The model's sense metrics on batches of 3 shuffled instances, against a count by hand."""
    model = archive.model.eval()
    instances = list(archive.validation_dataset_reader.read(str(SENSES_FIXTURE)))
    random.Random(0).shuffle(instances)
    model.get_metrics(reset=True)
    outputs = []
    for start in range(0, len(instances), 3):
        outputs += model.forward_on_instances(instances[start : start + 3])
    metrics = model.get_metrics(reset=True)
    # By hand: each gold predicate's roleset, and which of a sentence's found predicates are
    # gold predicates given their gold roleset.
    right = {}
    judged = []
    for output in outputs:
        metadata = output["metadata"]
        if metadata["is_frame"] and metadata["predicate_indices"] and metadata["roleset"]:
            judged.append(output["rolesets"] == metadata["roleset"])
            key = (metadata["sentence_id"], metadata["predicate_indices"][0])
            right[key] = output["rolesets"] == metadata["roleset"]
    found = gold = correct = 0
    for output in outputs:
        metadata = output["metadata"]
        if metadata["gold_predicates"] is None:
            continue
        predicted = {tuple(p) for p in output["predicates"]}
        expected = {tuple(p) for p in metadata["gold_predicates"]}
        found, gold = found + len(predicted), gold + len(expected)
        correct += sum(
            right.get((metadata["sentence_id"], p[0]), False) for p in predicted & expected
        )
    assert metrics["sense_accuracy"] == pytest.approx(sum(judged) / len(judged))
    assert metrics["predicate_sense_precision"] == pytest.approx(correct / found)
    assert metrics["predicate_sense_recall"] == pytest.approx(correct / gold)


def test_stock_token_classification_ignores_the_sense_head(senses_run):
    from transformers import BertForTokenClassification

    _, info = stock_from_pretrained(
        BertForTokenClassification, str(senses_run / "hf_model"), output_loading_info=True
    )
    assert not info["missing_keys"]
    assert {key.split(".")[0] for key in info["unexpected_keys"]} == {
        "predicate_classifier",
        "sense_classifier",
    }


def test_allennlp_predict_gives_the_models_rolesets(archive, frames, senses_run, tmp_path):
    _, expected = allennlp_senses(archive.model, frames)
    _, predicted = predict_frames(senses_run / "model.tar.gz", frames, tmp_path)
    assert [output["verbs"][0]["roleset"] for output in predicted] == expected


def test_srl_export_and_import_round_trip_the_sense_head(archive, frames, senses_run, tmp_path):
    exported = tmp_path / "exported"
    assert run_command("srl-export", [str(senses_run / "model.tar.gz"), str(exported)]) == 0
    callback = senses_run / "hf_model"
    assert (
        json.loads((exported / "config.json").read_text())["srl_rolesets"]
        == json.loads((callback / "config.json").read_text())["srl_rolesets"]
    )
    ours = read_safetensors(str(exported / "model.safetensors"))
    theirs = read_safetensors(str(callback / "model.safetensors"))
    for name in ("sense_classifier.weight", "sense_classifier.bias"):
        assert torch.equal(ours[name], theirs[name]), name

    imported = tmp_path / "imported.tar.gz"
    assert run_command("srl-import", [str(exported), str(imported)]) == 0
    with tarfile.open(imported) as tar:
        member = tar.extractfile("vocabulary/roleset_labels.txt")
        assert member is not None
        rolesets = member.read().decode().splitlines()
    assert rolesets == archive.model.hf_model.rolesets
    reloaded = load_archive(str(imported))
    assert reloaded.model.vocab.get_token_to_index_vocabulary("roleset_labels") == (
        archive.model.vocab.get_token_to_index_vocabulary("roleset_labels")
    )
    expected_logits, expected = allennlp_senses(archive.model, frames)
    logits, rolesets_again = allennlp_senses(reloaded.model, frames)
    assert torch.allclose(logits, expected_logits, atol=1e-6)
    assert rolesets_again == expected


def test_srl_export_fits_a_sense_head_on_the_frozen_encoder(senses_run, tmp_path):
    fitted = tmp_path / "fitted"
    arguments = [str(senses_run / "model.tar.gz"), str(fitted), "--sense-data", str(SENSES_FIXTURE)]
    assert run_command("srl-export", arguments) == 0
    config = json.loads((fitted / "config.json").read_text())
    assert config["srl_rolesets"] == ["have.01", "have.03", "run.01", "run.02", "see.01"]
    assert config["srl_sense_head_fit"]["data"]
    ours = read_safetensors(str(fitted / "model.safetensors"))
    trained = read_safetensors(str(senses_run / "hf_model" / "model.safetensors"))
    # Only the sense head is new: the encoder and the other heads are the trained model's.
    assert set(ours) == set(trained)
    for name, tensor in trained.items():
        if not name.startswith("sense_classifier."):
            assert torch.equal(ours[name], tensor), name


def test_srl_export_fits_a_sense_head_on_frame_file_examples_too(
    senses_run, tmp_path, monkeypatch, capsys
):
    """`srl-export --sense-data C --frame-examples W` adds the examples at weight W."""
    examples = tmp_path / "examples.json.gz"
    with gzip.open(examples, "wt", encoding="utf-8") as written:
        rows = [["run.03", "The car runs .", 2]]
        json.dump({"source": "test", "examples": rows, "left_out": {}}, written)
    monkeypatch.setattr(rolesets, "EXAMPLES_PATH", examples)
    fitted = tmp_path / "fitted"
    arguments = [str(senses_run / "model.tar.gz"), str(fitted), "--frame-examples", "0.5"]
    assert run_command("srl-export", arguments) == 2
    assert "--frame-examples fits the sense head: give --sense-data" in capsys.readouterr().err
    assert not fitted.exists()
    assert run_command("srl-export", arguments + ["--sense-data", str(SENSES_FIXTURE)]) == 0
    config = json.loads((fitted / "config.json").read_text())
    assert "run.03" in config["srl_rolesets"]
    record = config["srl_sense_head_fit"]
    assert record["frame_file_examples"] == 1 and record["frame_file_examples_weight"] == 0.5


def test_sense_head_off_on_data_with_rolesets_is_todays_model(senses_bert, tmp_path):
    output = tmp_path / "run"
    data = {
        "SRL_TRAIN_DATA_PATH": str(SENSES_FIXTURE),
        "SRL_VALIDATION_DATA_PATH": str(SENSES_FIXTURE),
    }
    overrides = '{"model.sense_head": false, "trainer.num_epochs": 1}'
    result = train_tiny(senses_bert, str(output), overrides, extra_env=data)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((output / "metrics.json").read_text())
    assert not [key for key in metrics if "sense" in key]
    assert "srl_rolesets" not in json.loads((output / "hf_model" / "config.json").read_text())
    weights = read_safetensors(str(output / "hf_model" / "model.safetensors"))
    assert not [name for name in weights if name.startswith("sense_classifier")]
    # The archive's vocabulary lists the data's rolesets, which the model does not use.
    assert (output / "vocabulary" / "roleset_labels.txt").is_file()
    exported = tmp_path / "exported"
    assert run_command("srl-export", [str(output / "model.tar.gz"), str(exported)]) == 0
    assert "srl_rolesets" not in json.loads((exported / "config.json").read_text())
    assert load_archive(str(output / "model.tar.gz")).model.hf_model.sense_classifier is None


def _write_modern_fixture(senses_run, frames, rolesets):
    # The modern environments check the same export's rolesets (their tests read
    # $SRL_PLUGIN_MODERN_FIXTURE/senses/expected.json: one entry per frame).
    target = os.environ.get("SRL_PLUGIN_MODERN_FIXTURE")
    if not target:
        return
    target = os.path.join(target, "senses")
    shutil.rmtree(os.path.join(target, "export"), ignore_errors=True)
    shutil.copytree(senses_run / "hf_model", os.path.join(target, "export"))
    shutil.copy(senses_run / "metrics.json", os.path.join(target, "metrics.json"))
    expected = [
        {
            "input": {
                "tokens": i["metadata"]["words"],
                "predicates": [i["metadata"]["predicate_indices"]],
            },
            "roleset": roleset,
        }
        for i, roleset in zip(frames, rolesets)
    ]
    with open(os.path.join(target, "expected.json"), "w") as expected_file:
        json.dump(expected, expected_file)
