"""
`allennlp srl-export` and `allennlp srl-import` against allennlp-models itself: an archive trained
with its own `srl_bert` model and `srl` reader, exported to Hugging Face, must tag every predicate
exactly as allennlp-models does, and give the same F1 once imported back into AllenNLP.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from typing import Any, Dict, List

import numpy
import pytest
import torch
from allennlp.models.archival import load_archive
from allennlp.predictors import Predictor

import allennlp_models.structured_prediction  # noqa: F401  (registers srl_bert and srl)
from srl_plugin.archival import load_srl_archive
from srl_plugin.hf import BertForSemanticRoleLabeling, WordPieceAligner
from srl_plugin.hf.frames import wordpiece_frame
from tests.conftest import EWT_SAMPLE, PROJECT_ROOT, allennlp_command, train_tiny


def allennlp(*args: str, **env: str) -> subprocess.CompletedProcess:
    """`allennlp ARGS` in a subprocess, on one thread (much faster for tiny models on busy CPUs)."""
    return allennlp_command(*args, env={"OMP_NUM_THREADS": "1", **env})


def predicate_of(tags: List[str]) -> List[int]:
    """The words of a frame's predicate, as allennlp-models' reader marks them."""
    return [i for i, tag in enumerate(tags) if tag.endswith("-V")]


@pytest.fixture(scope="module")
def upstream(srl_bert_run) -> Dict[str, Any]:
    """allennlp-models' own predictions (tags, wordpiece logits) on every frame of the sample."""
    archive = load_archive(str(srl_bert_run / "model.tar.gz"))
    archive.model.eval()
    instances = list(archive.dataset_reader.read(str(EWT_SAMPLE)))
    outputs = archive.model.forward_on_instances(instances)
    frames = []
    for instance, output in zip(instances, outputs):
        metadata = instance["metadata"].metadata
        ids = [token.text_id for token in instance["tokens"].tokens]
        frames.append(
            {
                "words": metadata["words"],
                "predicate": predicate_of(metadata["gold_tags"]),
                "input_ids": ids,
                "tags": output["tags"],
                "logits": output["logits"][: len(ids)],
            }
        )
    # A trained model, not one that tags everything O: the comparisons below mean something.
    arguments = [f for f in frames if any(t.startswith("B-ARG") for t in f["tags"])]
    assert len(arguments) >= 30, f"only {len(arguments)} of {len(frames)} frames have arguments"
    return {"frames": frames, "metrics": archive.model.get_metrics(reset=True)}


@pytest.fixture(scope="module")
def export(srl_bert_run, tmp_path_factory) -> str:
    output = str(tmp_path_factory.mktemp("srl_bert_export") / "hf_model")
    result = allennlp("srl-export", str(srl_bert_run / "model.tar.gz"), output)
    assert result.returncode == 0, result.stderr[-3000:]
    return output


@pytest.fixture(scope="module")
def imported(export, tmp_path_factory) -> str:
    archive = str(tmp_path_factory.mktemp("imported") / "model.tar.gz")
    result = allennlp("srl-import", export, archive)
    assert result.returncode == 0, result.stderr[-3000:]
    return archive


def test_export_tags_every_predicate_as_allennlp_models(upstream, export):
    model = BertForSemanticRoleLabeling.from_pretrained(export).eval()
    aligner = WordPieceAligner.from_pretrained(export)
    assert aligner.lowercase  # the reader of "tiny-bert-uncased" lowercased
    for frame in upstream["frames"]:
        wordpieces = wordpiece_frame(aligner, frame["words"], frame["predicate"], 512)
        assert wordpieces.input_ids == frame["input_ids"]
        with torch.no_grad():
            logits = model(
                input_ids=torch.tensor([wordpieces.input_ids]),
                token_type_ids=torch.tensor([wordpieces.token_type_ids]),
            ).logits
        numpy.testing.assert_allclose(logits[0].numpy(), frame["logits"], atol=1e-5, rtol=0)
        label_ids = model.decode(logits, [len(wordpieces.input_ids)])[0]
        tags = wordpieces.word_tags([model.labels[i] for i in label_ids], len(frame["words"]))
        assert tags == frame["tags"], " ".join(frame["words"])


def test_loader_reads_srl_bert_archive_for_predictor(srl_bert_run, upstream):
    archive = load_srl_archive(str(srl_bert_run / "model.tar.gz"))
    assert archive.config["model"]["type"] == "hf_srl"
    predictor = Predictor.from_archive(archive)
    frames = [f for f in upstream["frames"] if f["predicate"]]
    outputs = predictor.predict_batch_json(
        [{"tokens": f["words"], "predicates": [f["predicate"]]} for f in frames]
    )
    for frame, output in zip(frames, outputs):
        assert output["verbs"][0]["tags"] == frame["tags"]


def test_imported_export_predicts_and_evaluates_as_the_original(
    srl_bert_run, upstream, imported, tmp_path
):
    frames = [f for f in upstream["frames"] if f["predicate"]]
    lines = tmp_path / "frames.jsonl"
    lines.write_text(
        "".join(
            json.dumps({"tokens": f["words"], "predicates": [f["predicate"]]}) + "\n"
            for f in frames
        )
    )
    predictions = tmp_path / "predictions.jsonl"
    result = allennlp(
        "predict", imported, str(lines), "--output-file", str(predictions), "--silent"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outputs = [json.loads(line) for line in predictions.read_text().splitlines()]
    assert [o["verbs"][0]["tags"] for o in outputs] == [f["tags"] for f in frames]

    scores = {}
    for name, archive in (("original", str(srl_bert_run / "model.tar.gz")), ("imported", imported)):
        metrics = tmp_path / f"{name}.json"
        result = allennlp(
            "evaluate", archive, str(EWT_SAMPLE), "--output-file", str(metrics)
        )
        assert result.returncode == 0, result.stderr[-3000:]
        scores[name] = json.loads(metrics.read_text())
    assert scores["original"]["f1-measure-overall"] > 0.05
    assert scores["imported"]["f1-measure-overall"] == pytest.approx(
        scores["original"]["f1-measure-overall"], abs=1e-9
    )


def test_imported_archive_layout(imported, export):
    with tarfile.open(imported) as tar:
        names = set(tar.getnames())
        config = json.load(tar.extractfile("config.json"))  # type: ignore[arg-type]
        labels = tar.extractfile("vocabulary/labels.txt").read().decode().split()  # type: ignore
    for name in ("config.json", "weights.th", "meta.json", "vocabulary/labels.txt"):
        assert name in names
    for name in os.listdir(export):
        assert f"hf_model/{name}" in names
    assert config["model"]["type"] == config["dataset_reader"]["type"] == "hf_srl"
    exported = json.loads(open(os.path.join(export, "config.json")).read())
    assert labels == [exported["id2label"][str(i)] for i in range(len(labels))]


def test_fine_tuning_starts_from_an_srl_bert_archive(srl_bert_run, tmp_path):
    # The archive path is the config's bert_model; the new archive must not need it afterwards.
    source = tmp_path / "srl_bert.tar.gz"
    shutil.copy(srl_bert_run / "model.tar.gz", source)
    sample = str(EWT_SAMPLE / "answers")
    output = tmp_path / "run"
    result = train_tiny(
        str(source),
        str(output),
        '{"trainer.num_epochs": 1}',
        extra_env={
            "SRL_TRAIN_DATA_PATH": sample,
            "SRL_VALIDATION_DATA_PATH": sample,
            "OMP_NUM_THREADS": "1",
        },
    )
    assert result.returncode == 0, result.stderr[-3000:]
    source.unlink()
    archive = load_srl_archive(str(output / "model.tar.gz"))
    assert archive.config["model"]["bert_model"] == str(source)
    readme = (output / "hf_model" / "README.md").read_text()
    assert str(source) in readme


def test_srl_export_of_own_archive_equals_callback_export(trained_run, tmp_path):
    output = tmp_path / "export"
    result = allennlp("srl-export", str(trained_run / "model.tar.gz"), str(output))
    assert result.returncode == 0, result.stderr[-3000:]
    callback = trained_run / "hf_model"
    assert sorted(os.listdir(output)) == sorted(os.listdir(callback))
    for name in os.listdir(callback):
        if name in ("README.md", "pytorch_model.bin"):
            continue
        assert (output / name).read_bytes() == (callback / name).read_bytes(), name
    ours = torch.load(output / "pytorch_model.bin")
    theirs = torch.load(callback / "pytorch_model.bin")
    assert ours.keys() == theirs.keys()
    for name in ours:
        assert torch.equal(ours[name], theirs[name]), name


def test_round_trip_through_import_keeps_logits(trained_run, tmp_path):
    archive = str(tmp_path / "model.tar.gz")
    result = allennlp("srl-import", str(trained_run / "hf_model"), archive)
    assert result.returncode == 0, result.stderr[-3000:]
    original = load_srl_archive(str(trained_run / "model.tar.gz")).model.eval()
    reloaded = load_archive(archive).model.eval()
    assert reloaded.hf_model.predicate_classifier is not None
    state = reloaded.state_dict()
    for name, tensor in original.state_dict().items():
        assert torch.equal(state[name], tensor), name


def test_commands_refuse_to_overwrite_without_force(trained_run, tmp_path):
    export, archive = tmp_path / "export", tmp_path / "model.tar.gz"
    export.mkdir()
    (export / "keep.txt").write_text("mine")
    archive.write_text("mine")
    source = str(trained_run / "model.tar.gz")
    for command, output in (("srl-export", export), ("srl-import", archive)):
        result = allennlp(command, source, str(output))
        assert result.returncode != 0
        assert "already exists" in result.stderr and "--force" in result.stderr
        assert "Traceback" not in result.stderr
    assert (export / "keep.txt").read_text() == "mine" and archive.read_text() == "mine"
    for command, output in (("srl-export", export), ("srl-import", archive)):
        result = allennlp(command, source, str(output), "--force")
        assert result.returncode == 0, result.stderr[-3000:]
    assert not (export / "keep.txt").exists()
    assert tarfile.is_tarfile(archive)
    # Written through temporary files renamed into place: none is left behind.
    assert sorted(os.listdir(tmp_path)) == ["export", "model.tar.gz"]


def test_commands_are_listed_by_allennlp_help():
    # As a user runs it: the plugin comes from the repository's .allennlp_plugins file.
    result = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "allennlp"), "--help"],
        cwd=str(PROJECT_ROOT),
        capture_output=True,
        text=True,
    )
    assert re.search(r"srl-export\s+Export", result.stdout), result.stdout
    assert re.search(r"srl-import\s+Import", result.stdout), result.stdout


def test_command_errors_are_one_line(tmp_path):
    broken = tmp_path / "model.tar.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00 not really gzip")
    result = allennlp("srl-export", str(broken), str(tmp_path / "out"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"{broken}: not a readable tar.gz archive" in result.stderr
    assert not (tmp_path / "out").exists()
