"""
`allennlp train` with a shared encoding (`model.predicate_fusion_layer: 1`, which brings the pair
head, `predicate_pair_head`, by default): the export agrees
with the AllenNLP model (logits) and with `allennlp predict` (tags), here and, through the
modern fixture, with transformers 5.x and 4.x.
"""

import json
import os
import shutil

import pytest
import torch
from allennlp.data import Batch
from allennlp.models.archival import load_archive

from srl_plugin.hf import BertForSemanticRoleLabeling, SemanticRoleLabeler
from srl_plugin.hf.checkpoints.export import load_pretrained_srl_model
from srl_plugin.hf.config import SrlSettings
from tests import EWT_SAMPLE
from tests.cli import allennlp_command, allennlp_predict, train_tiny

RAW_SENTENCES = [
    "The company said it would buy the shares .",
    "I do n't think they will come back before Monday .",
]


@pytest.fixture(scope="module")
def fused_run(tiny_bert, tmp_path_factory):
    output = tmp_path_factory.mktemp("fused") / "run"
    overrides = json.dumps({"model.predicate_fusion_layer": 1, "trainer.num_epochs": 6})
    result = train_tiny(tiny_bert, str(output), overrides)
    assert result.returncode == 0, result.stderr[-3000:]
    return output


@pytest.fixture(scope="module")
def frames(fused_run):
    archive = load_archive(str(fused_run / "model.tar.gz"))
    instances = archive.validation_dataset_reader.read(str(EWT_SAMPLE))
    return archive, [
        i
        for i in instances
        if i["metadata"]["is_frame"] and i["metadata"]["verb_index"] is not None
    ]


def test_export_records_the_fusion_and_matches_the_allennlp_logits(tiny_bert, fused_run, frames):
    archive, instances = frames
    export = str(fused_run / "hf_model")
    config = json.loads((fused_run / "hf_model" / "config.json").read_text())
    assert config["srl_predicate_fusion_layer"] == 1
    assert config["srl_predicate_pair_head"] is True
    # The card says plainly that stock token classification cannot run it.
    assert "cannot run this model" in (fused_run / "hf_model" / "README.md").read_text()
    model = BertForSemanticRoleLabeling.from_pretrained(export).eval()
    archive.model.eval()
    batch = Batch(instances[:40])
    batch.index_instances(archive.model.vocab)
    tensors = batch.as_tensor_dict()
    with torch.no_grad():
        ours = archive.model(**tensors)
        mask = ours["mask"]
        theirs = model(
            input_ids=tensors["tokens"]["tokens"]["tokens"],
            attention_mask=mask.long(),
            token_type_ids=tensors["verb_indicator"],
        )
    assert torch.allclose(ours["logits"][mask], theirs.logits[mask], atol=1e-5)
    # The marker and the offset embeddings (radius 16 by default) were trained: they moved
    # away from where training started them on the base checkpoint (a start computed from the
    # checkpoint alone, so the same here as in training; the pair head starts at random).
    assert config["srl_predicate_distance_radius"] == 16
    start = load_pretrained_srl_model(
        tiny_bert, model.labels, SrlSettings.options(predicate_fusion_layer=1)
    )
    assert not torch.allclose(model.predicate_marker, start.predicate_marker, atol=1e-3)
    assert not torch.allclose(
        model.predicate_distance.weight, start.predicate_distance.weight, atol=1e-3
    )


def test_labeler_tags_equal_allennlp_predict(fused_run, frames, tmp_path):
    _, instances = frames
    lines = [
        {"tokens": i["metadata"]["words"], "predicates": [i["metadata"]["predicate_indices"]]}
        for i in instances
    ] + [{"sentence": sentence} for sentence in RAW_SENTENCES]
    input_file = tmp_path / "input.jsonl"
    input_file.write_text("".join(json.dumps(line) + "\n" for line in lines))
    output_file = tmp_path / "output.jsonl"
    result = allennlp_command(
        "predict", str(fused_run / "model.tar.gz"), str(input_file),
        "--batch-size", "16", "--output-file", str(output_file), "--silent",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    predicted = [json.loads(line) for line in output_file.read_text().splitlines()]
    labeler = SemanticRoleLabeler.from_pretrained(str(fused_run / "hf_model"), batch_size=7)
    labelled = labeler.predict_batch(lines)
    expected = [[v["tags"] for v in output["verbs"]] for output in predicted]
    assert [[v["tags"] for v in output["verbs"]] for output in labelled] == expected
    assert sum(any(t[2:] not in ("", "V") for t in tags[0]) for tags in expected if tags) > 20
    _write_modern_fixture(fused_run, lines, expected)
    # `srl-import` of the export builds the same model (fusion options from its config.json).
    imported = tmp_path / "imported.tar.gz"
    result = allennlp_command("srl-import", str(fused_run / "hf_model"), str(imported))
    assert result.returncode == 0, result.stderr[-2000:]
    again = allennlp_predict(imported, input_file, tmp_path / "again.jsonl", "--batch-size", "16")
    assert [[v["tags"] for v in output["verbs"]] for output in again] == expected


def _write_modern_fixture(fused_run, lines, expected):
    # tests/hf/test_modern_fusion.py checks the same export with transformers 5.x and 4.x.
    root = os.environ.get("SRL_PLUGIN_MODERN_FIXTURE")
    if not root:
        return
    target = os.path.join(root, "fused")
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(fused_run / "hf_model", os.path.join(target, "export"))
    cases = [{"input": line, "tags": tags} for line, tags in zip(lines, expected)]
    with open(os.path.join(target, "expected.json"), "w") as expected_file:
        json.dump(cases, expected_file)


def test_fused_archive_without_its_export_is_read_from_its_options(fused_run, tmp_path):
    # An archive whose hf_model/ was left out of `include_in_archive`: the model is built from
    # the base checkpoint's config and the archive's model options (fusion, offsets, pair head).
    import tarfile

    from srl_plugin.archives.archive import read_srl_checkpoint

    bare = tmp_path / "bare.tar.gz"
    with tarfile.open(fused_run / "model.tar.gz") as original, tarfile.open(bare, "w:gz") as tar:
        for member in original:
            if member.name.split("/")[0] != "hf_model":
                tar.addfile(member, original.extractfile(member) if member.isfile() else None)
    bare_model = read_srl_checkpoint(str(bare)).model
    full_model = read_srl_checkpoint(str(fused_run / "model.tar.gz")).model
    assert bare_model.predicate_fusion_layer == 1 and bare_model.pair_projection is not None
    state = full_model.state_dict()
    assert set(bare_model.state_dict()) == set(state)
    for name, tensor in bare_model.state_dict().items():
        assert torch.equal(tensor, state[name]), name
