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
import tempfile
from typing import Any, Dict, List

import numpy
import pytest
import torch
from allennlp.commands import main
from allennlp.models.archival import load_archive
from allennlp.predictors import Predictor

import allennlp_models.structured_prediction  # noqa: F401  (registers srl_bert and srl)
from srl_plugin.archives.archive import load_srl_archive
from srl_plugin.archives.safe_tar import safe_extract
from srl_plugin.hf import WordPieceAligner, read_export
from srl_plugin.hf.checkpoints.weights import load_torch_weights, read_safetensors
from srl_plugin.hf.frames import wordpiece_frame
from srl_plugin.models.hf_srl import HfSrlModel
from tests import EWT_SAMPLE, PROJECT_ROOT
from tests.cli import allennlp_command, train_tiny

# Every test here runs on one torch thread (`one_torch_thread`).
pytestmark = pytest.mark.usefixtures("one_torch_thread")


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
    archive.model.ignore_span_metric = True  # no srl-eval.pl run per batch: only tags are needed
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
    return {"frames": frames}


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
    model = read_export(export)[0]
    aligner = WordPieceAligner.from_pretrained(export)
    assert aligner.lowercase  # the reader of "tiny-bert-uncased" lowercased
    frames = upstream["frames"]
    inputs = [wordpiece_frame(aligner, f["words"], f["predicate"], 512) for f in frames]
    assert [i.input_ids for i in inputs] == [f["input_ids"] for f in frames]
    lengths = [len(i.input_ids) for i in inputs]
    input_ids = torch.zeros(len(inputs), max(lengths), dtype=torch.long)
    token_type_ids = torch.zeros_like(input_ids)
    for row, wordpieces in enumerate(inputs):
        input_ids[row, : lengths[row]] = torch.tensor(wordpieces.input_ids)
        token_type_ids[row, : lengths[row]] = torch.tensor(wordpieces.token_type_ids)
    attention_mask = (torch.arange(max(lengths)) < torch.tensor(lengths).unsqueeze(1)).long()
    with torch.no_grad():
        logits = model(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).logits
    label_ids = model.decode(logits, lengths)
    for row, (frame, wordpieces) in enumerate(zip(frames, inputs)):
        numpy.testing.assert_allclose(
            logits[row, : lengths[row]].numpy(), frame["logits"], atol=1e-5, rtol=0
        )
        tags = wordpieces.word_tags([model.labels[i] for i in label_ids[row]], len(frame["words"]))
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
        result = allennlp("evaluate", archive, str(EWT_SAMPLE), "--output-file", str(metrics))
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
    # The same weights under the same (Hugging Face) names, plus the position_ids buffer.
    with tempfile.TemporaryDirectory() as folder:
        safe_extract(imported, folder)
        archived = load_torch_weights(os.path.join(folder, "weights.th"))
    weights = read_safetensors(os.path.join(export, "model.safetensors"))
    assert set(archived) - set(weights) == {"bert.embeddings.position_ids"}
    for name, tensor in weights.items():
        assert torch.equal(archived[name], tensor), name


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
    # The card names the archive it started from, without the absolute local path.
    assert source.name in readme and str(source) not in readme


def test_fine_tuning_can_start_from_own_archive(trained_run):
    # `bert_model` naming an hf_srl archive: its weights (both heads) are the starting point.
    original = load_srl_archive(str(trained_run / "model.tar.gz")).model
    model = HfSrlModel(original.vocab, bert_model=str(trained_run / "model.tar.gz"))
    state = model.state_dict()
    for name, tensor in original.state_dict().items():
        assert torch.equal(state[name], tensor), name


def test_srl_export_of_own_archive_equals_callback_export(trained_run, tmp_path):
    output = tmp_path / "export"
    result = allennlp("srl-export", str(trained_run / "model.tar.gz"), str(output))
    assert result.returncode == 0, result.stderr[-3000:]
    callback = trained_run / "hf_model"
    assert sorted(os.listdir(output)) == sorted(os.listdir(callback))
    for name in os.listdir(callback):
        if name in ("README.md", "model.safetensors"):
            continue
        assert (output / name).read_bytes() == (callback / name).read_bytes(), name
    ours = read_safetensors(str(output / "model.safetensors"))
    theirs = read_safetensors(str(callback / "model.safetensors"))
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


def allennlp_in_process(monkeypatch, *args: str) -> None:
    """`allennlp ARGS` in this process, which has the plugin's commands registered already."""
    monkeypatch.setattr(sys, "argv", ["allennlp", *args])
    main(prog="allennlp")


def test_commands_refuse_to_overwrite_without_force(trained_run, tmp_path, monkeypatch, capsys):
    export, archive = tmp_path / "export", tmp_path / "model.tar.gz"
    export.mkdir()
    (export / "keep.txt").write_text("mine")
    archive.write_text("mine")
    source = str(trained_run / "model.tar.gz")
    for command, output in (("srl-export", export), ("srl-import", archive)):
        with pytest.raises(SystemExit) as error:
            allennlp_in_process(monkeypatch, command, source, str(output))
        assert error.value.code == 2
        assert (
            capsys.readouterr()
            .err.strip()
            .endswith(
                f"allennlp {command}: error: {output} already exists (use --force to replace it)"
            )
        )
    assert (export / "keep.txt").read_text() == "mine" and archive.read_text() == "mine"
    for command, output in (("srl-export", export), ("srl-import", archive)):
        allennlp_in_process(monkeypatch, command, source, str(output), "--force")
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
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{broken}: not a readable tar.gz archive" in result.stderr
    assert not (tmp_path / "out").exists()


def console(*args: str, cwd: str) -> subprocess.CompletedProcess:
    """`srl-export ARGS` or `srl-import ARGS` as the console scripts run them, from `cwd`."""
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT), OMP_NUM_THREADS="1")
    command = [sys.executable, "-m", "srl_plugin.commands.console", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)


def test_console_scripts_work_from_any_folder(trained_run, tmp_path):
    # A folder without .allennlp_plugins: AllenNLP's own entry point does not know the commands.
    elsewhere = str(tmp_path)
    allennlp_script = os.path.join(os.path.dirname(sys.executable), "allennlp")
    result = subprocess.run(
        [allennlp_script, "srl-export", "--help"], cwd=elsewhere, capture_output=True, text=True
    )
    assert "invalid choice: 'srl-export'" in result.stderr
    result = console("srl-export", str(trained_run / "model.tar.gz"), "export", cwd=elsewhere)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(os.listdir(tmp_path / "export")) == sorted(os.listdir(trained_run / "hf_model"))
    result = console("srl-import", "export", "model.tar.gz", cwd=elsewhere)
    assert result.returncode == 0, result.stderr[-3000:]
    reloaded = load_srl_archive(str(tmp_path / "model.tar.gz")).model
    original = load_srl_archive(str(trained_run / "model.tar.gz")).model
    for name, tensor in original.state_dict().items():
        assert torch.equal(reloaded.state_dict()[name], tensor), name
    # The same one-line errors as the AllenNLP subcommands, named after the script.
    result = console("srl-import", "export", "model.tar.gz", cwd=elsewhere)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().endswith(
        "srl-import: error: model.tar.gz already exists (use --force to replace it)"
    )


def test_console_scripts_have_the_subcommands_arguments(tmp_path):
    # One definition: every option of `allennlp srl-export --help` is in `srl-export --help`.
    for command in ("srl-export", "srl-import"):
        ours = console(command, "--help", cwd=str(tmp_path)).stdout
        theirs = allennlp(command, "--help").stdout
        options = set(re.findall(r"--[a-z-]+", theirs)) - {"--include-package"}
        assert options and options <= set(re.findall(r"--[a-z-]+", ours)), command


def test_console_scripts_say_when_allennlp_is_missing(tmp_path):
    # The Hugging Face side alone (`pip install srl_plugin`): `import allennlp` fails.
    code = (
        "import sys; sys.modules['allennlp'] = None; "
        "from srl_plugin.commands.console import run; sys.exit(run('srl-export', ['a.tar.gz', 'out']))"
    )
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=str(tmp_path), env=env, capture_output=True, text=True
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "srl-export: error: AllenNLP is not installed" in result.stderr
    assert "pip install 'srl_plugin[allennlp]'" in result.stderr
