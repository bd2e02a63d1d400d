"""
End to end: `allennlp train` with the hf_export callback gives an AllenNLP archive and a Hugging
Face export that agree (logits, tags), and the archive needs nothing but itself.
"""

import json
import os
import shutil
import tarfile

import pytest
import torch
from allennlp.data import Batch
from allennlp.models.archival import load_archive
from allennlp.training.optimizers import make_parameter_groups
from transformers import AutoModelForTokenClassification, BertForTokenClassification

from srl_plugin.hf.decoding import bio_transition_constraints, viterbi_decode_bio
from tests import EWT_SAMPLE
from tests.cli import predict_frames, train_tiny
from tests.stock_loading import stock_from_pretrained


@pytest.fixture(scope="module")
def archive(trained_run):
    return load_archive(str(trained_run / "model.tar.gz"))


@pytest.fixture(scope="module")
def frames(archive):
    return sample_frames(archive)


def sample_frames(archive):
    """The EWT sample's predicate instances, read by the archive's own dataset reader."""
    instances = list(archive.validation_dataset_reader.read(str(EWT_SAMPLE)))
    return [
        i
        for i in instances
        if i["metadata"]["is_frame"] and i["metadata"]["verb_index"] is not None
    ]


def assert_export_logits_equal(archive, instances, export):
    """The export through `AutoModelForTokenClassification` gives the AllenNLP model's logits."""
    exported = stock_from_pretrained(AutoModelForTokenClassification, export).eval()
    archive.model.eval()
    batch = Batch(instances)
    batch.index_instances(archive.model.vocab)
    tensors = batch.as_tensor_dict()
    with torch.no_grad():
        ours = archive.model(**tensors)
        mask = ours["mask"]
        # Padding as the labeler pads (RoBERTa numbers positions by counting non-pad ids).
        input_ids = tensors["tokens"]["tokens"]["tokens"].masked_fill(
            ~mask, archive.model.aligner.pad_id
        )
        theirs = exported(
            input_ids=input_ids,
            attention_mask=mask.long(),
            token_type_ids=tensors["verb_indicator"],
        ).logits
    assert torch.allclose(ours["logits"][mask], theirs[mask], atol=1e-5)


def test_export_loads_with_plain_transformers_and_misses_nothing(trained_run):
    model, info = stock_from_pretrained(
        BertForTokenClassification, str(trained_run / "hf_model"), output_loading_info=True
    )
    assert len(info["missing_keys"]) == 0
    # Only the predicate and sense heads, which BertForSemanticRoleLabeling reads, are unused
    # here (the EWT sample has rolesets, so the model has a sense head).
    assert {key.split(".")[0] for key in info["unexpected_keys"]} == {
        "predicate_classifier",
        "sense_classifier",
    }
    vocabulary = (trained_run / "vocabulary" / "labels.txt").read_text().splitlines()
    assert [model.config.id2label[i] for i in range(len(vocabulary))] == vocabulary
    assert model.config.label2id == {label: i for i, label in enumerate(vocabulary)}


def test_export_holds_tokenizer_and_model_card(trained_run):
    export = trained_run / "hf_model"
    for name in ("config.json", "model.safetensors", "vocab.txt", "tokenizer.json", "README.md"):
        assert (export / name).is_file(), name
    card = (export / "README.md").read_text()
    assert "f1-measure-overall" in card and "BertForTokenClassification" in card
    # No staging folder is left behind.
    assert not [p for p in os.listdir(trained_run) if p.startswith(".hf_model")]


def test_model_card_model_index_carries_the_runs_metrics(trained_run):
    from tests.hf.card_checks import check_card_metrics

    check_card_metrics(str(trained_run / "hf_model"), str(trained_run / "metrics.json"))


def test_export_logits_equal_allennlp_model_logits(archive, frames, trained_run):
    assert_export_logits_equal(archive, frames[:40], str(trained_run / "hf_model"))


def test_export_tags_equal_allennlp_predict(trained_run, frames, tmp_path):
    lines, predicted = predict_frames(
        trained_run / "model.tar.gz", frames, tmp_path, "--batch-size", "16"
    )
    assert len(predicted) == len(lines)

    # The export through plain transformers, decoded with the plugin's decoder, one by one.
    export = str(trained_run / "hf_model")
    model = stock_from_pretrained(BertForTokenClassification, export).eval()
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    transitions, start_transitions = bio_transition_constraints(labels)
    non_trivial = 0
    for instance, output in zip(frames, predicted):
        ids = torch.tensor([[t.text_id for t in instance["tokens"].tokens]])
        types = torch.tensor([instance["verb_indicator"].labels])
        with torch.no_grad():
            logits = model(input_ids=ids, token_type_ids=types).logits
        path = viterbi_decode_bio(
            torch.softmax(logits, -1), [ids.size(1)], transitions, start_transitions
        )[0]
        # Words outside the window of a sentence longer than the encoder are tagged O.
        tags = ["O"] * len(instance["metadata"]["words"])
        frame = instance["metadata"]["frame"]
        start = frame.window[0]
        for position, offset in enumerate(frame.start_offsets):
            tags[start + position] = labels[path[offset]]
        assert output["verbs"][0]["tags"] == tags
        non_trivial += any(tag not in ("O", "B-V", "I-V") for tag in tags)
    # The tiny model has learned some arguments, so the comparison is not all-O against all-O.
    assert non_trivial >= len(frames) // 10
    _write_modern_fixture(trained_run, lines, predicted)


def _write_modern_fixture(trained_run, lines, predicted, family=None):
    # CI checks the same export in the modern environment (tests/hf/test_modern_environment.py);
    # BERT's at the top of the fixture folder, each other family's in a subfolder.
    target = os.environ.get("SRL_PLUGIN_MODERN_FIXTURE")
    if not target:
        return
    if family is not None:
        target = os.path.join(target, family)
    # Only this export's files: the other families' subfolders stay.
    shutil.rmtree(os.path.join(target, "export"), ignore_errors=True)
    shutil.copytree(trained_run / "hf_model", os.path.join(target, "export"))
    shutil.copy(trained_run / "metrics.json", os.path.join(target, "metrics.json"))
    expected = [
        {"input": line, "tags": [v["tags"] for v in out["verbs"]]}
        for line, out in zip(lines, predicted)
    ]
    with open(os.path.join(target, "expected.json"), "w") as expected_file:
        json.dump(expected, expected_file)


def test_archive_is_self_contained_and_carries_the_export(trained_run):
    # The checkpoint folder was deleted after training (see the trained_run fixture).
    with tarfile.open(trained_run / "model.tar.gz") as archive_file:
        names = archive_file.getnames()
    assert "hf_model/config.json" in names and "hf_model/model.safetensors" in names
    archive = load_archive(str(trained_run / "model.tar.gz"))
    assert archive.model.hf_model.config.num_labels == archive.model.vocab.get_vocab_size("labels")


def test_failed_training_writes_no_export_and_keeps_the_error(tiny_bert, tmp_path):
    output = tmp_path / "run"
    result = train_tiny(tiny_bert, str(output), '{"trainer.validation_metric": "+no_such_metric"}')
    assert result.returncode != 0
    assert "no_such_metric" in result.stderr
    assert not (output / "hf_model").exists()
    assert not [p for p in os.listdir(output) if p.startswith(".hf_model")]


@pytest.mark.parametrize("prefix", ["", "module."])
def test_recipe_parameter_groups_put_each_parameter_in_one_group(archive, prefix):
    # "module." is what DistributedDataParallel puts before every name; a parameter that two
    # groups match stops training before it starts (test_distributed trains for real).
    groups = archive.config["trainer"]["optimizer"].as_dict()["parameter_groups"]
    named = [(prefix + name, p) for name, p in archive.model.named_parameters()]
    made = make_parameter_groups(named, groups)
    names = {id(p): name for name, p in named}
    no_decay, sense, rest = [{names[id(p)] for p in group["params"]} for group in made]
    assert sense == {prefix + "sense_classifier.weight", prefix + "sense_classifier.bias"}
    assert made[1]["lr"] == 2e-3 and made[1]["weight_decay"] == 0.0
    assert {prefix + "classifier.bias", prefix + "predicate_classifier.bias"} <= no_decay
    assert prefix + "classifier.weight" in rest
