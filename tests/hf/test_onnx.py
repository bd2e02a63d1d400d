"""
The ONNX form of an export (`srl-onnx`, `srl_plugin.hf.checkpoints.onnx_export`) in real ONNX
Runtime: every family that exports, today's model and the fused one, gives PyTorch's tags and
logits (fp32), sense logits included (BERT's cases have a sense head), on the EWT sample, long
sentences and given predicates included; the int8 form labels through the installed
`srl-label` as fp32 does on most tags of a trained export; what cannot work says so. Modern
environment with the `onnx` extra (.venv-hf5).
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy
import pytest
import torch

from srl_plugin.hf import SemanticRoleLabeler
from srl_plugin.hf.checkpoints.export import load_pretrained_srl_model, write_export
from srl_plugin.hf.checkpoints.onnx_export import MANIFEST_FILE, onnx_folder, write_onnx
from srl_plugin.hf.config import SrlSettings, config_rolesets
from srl_plugin.hf.frames import wordpiece_frame
from srl_plugin.hf.tagging import decode_tags
from srl_plugin.hf.tokenization import aligner_from_pretrained
from tests import EWT_SAMPLE
from tests.conll import read_conll_sentences
from tests.tiny_bert import conll_words, make_tiny_model

pytestmark = pytest.mark.modern
pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

BIN = Path(sys.executable).parent
LABELS = ["O", "B-V", "I-V", "B-ARG0", "I-ARG0", "B-ARG1", "I-ARG1"]
FIXTURE = os.environ.get("SRL_PLUGIN_MODERN_FIXTURE", "")
# Every family with today's model; the fused model on the families that have it.
CASES = [(family, 0) for family in ("bert", "roberta", "xlm-roberta", "electra", "albert")]
CASES += [("deberta-v2", 0), ("bert", 1), ("roberta", 1)]
# BERT's exports have a sense head (today's model and the fused one), the others none.
ROLESETS = {"bert": ["have.01", "have.03", "approve.01"]}


def tiny_export(family: str, fusion_layer: int, folder: Path) -> str:
    """A tiny export of `family` (random heads that find predicates) with its ONNX form."""
    checkpoint = make_tiny_model(family, str(folder / "checkpoint"), conll_words(str(EWT_SAMPLE)))
    torch.manual_seed(0)
    settings = SrlSettings.options(True, fusion_layer)
    model = load_pretrained_srl_model(checkpoint, LABELS, settings, ROLESETS.get(family, []))
    with torch.no_grad():  # a head that finds some predicates, so that frames get labelled
        model.predicate_classifier.bias.copy_(torch.tensor([0.0, 0.5, -5.0]))
    export = write_export(model, aligner_from_pretrained(checkpoint), str(folder / "export"), "")
    write_onnx(export, int8=True)
    return export


@pytest.fixture(scope="module", params=CASES, ids=lambda case: f"{case[0]}-f{case[1]}")
def export(request, tmp_path_factory):
    family, layer = request.param
    return tiny_export(family, layer, tmp_path_factory.mktemp(f"{family}_{layer}"))


def long_sentence():
    # Longer than the tiny encoders' 128 positions: frames are windows around the predicate.
    words = [w for words, _ in read_conll_sentences(str(EWT_SAMPLE)) for w in words]
    return words[:200]


def items():
    sentences = read_conll_sentences(str(EWT_SAMPLE))
    raw = [" ".join(words) for words, _ in sentences]
    given = [
        {"tokens": words, "predicates": [predicate for predicate, _ in frames]}
        for words, frames in sentences
        if frames
    ]
    words = long_sentence()
    return raw + given + [words, {"tokens": words, "predicates": [[0], [100, 101], [199]]}]


def tags(results):
    return [[(v["predicate_indices"], v["tags"]) for v in r["verbs"]] for r in results]


def test_onnx_runtime_gives_the_tags_and_logits_of_torch(export):
    with open(os.path.join(onnx_folder(export), MANIFEST_FILE)) as manifest_file:
        manifest = json.load(manifest_file)
    torch_labeler = SemanticRoleLabeler.from_pretrained(export, batch_size=8)
    ort_labeler = SemanticRoleLabeler.from_pretrained(export, batch_size=8, runtime="onnxruntime")
    fused = torch_labeler.model.predicate_fusion_layer
    assert set(manifest["graphs"]) == ({"encode", "label"} if fused else {"model"})
    rolesets = torch_labeler.model.rolesets
    assert manifest["rolesets"] == rolesets == config_rolesets(torch_labeler.model.config)
    assert manifest["sense_head"] == bool(rolesets) and ort_labeler.model.rolesets == rolesets
    graph = manifest["graphs"]["label" if fused else "model"]
    assert ("sense_logits" in graph["outputs"]) == bool(rolesets)
    # No torch weights are read for ONNX Runtime.
    assert next(ort_labeler.model.parameters()).device.type == "meta"

    expected = torch_labeler.predict_batch(items())
    got = ort_labeler.predict_batch(items())
    assert tags(got) == tags(expected)
    assert sum(len(r["verbs"]) for r in got) > len(items())  # found and given predicates
    long_frames = got[-1]["verbs"]
    assert [v["predicate_indices"] for v in long_frames] == [[0], [100, 101], [199]]
    # Words outside a frame's window are O: the window moved with the predicate.
    assert long_frames[0]["tags"][-1] == "O" and long_frames[2]["tags"][0] == "O"

    words = [words for words, _ in read_conll_sentences(str(EWT_SAMPLE))]
    frames = [wordpiece_frame(torch_labeler.aligner, w, [1], 128) for w in words[:16]]
    mask = torch_labeler.tensors(frames)[1].bool()
    if fused:
        shared, predicate_logits = torch_labeler.encode(frames)
        ort_shared, ort_predicate_logits = ort_labeler.encode(frames)
        compared = [(shared, ort_shared), (predicate_logits, ort_predicate_logits)]
        inputs = torch_labeler.tensors(frames)
        output = torch_labeler.runner.label(shared, inputs[1], inputs[2])
        ort_output = ort_labeler.runner.label(shared, inputs[1], inputs[2])
        compared.append((output.logits, ort_output.logits))
    else:
        output, ort_output = torch_labeler.forward(frames), ort_labeler.forward(frames)
        compared = [
            (output.logits, ort_output.logits),
            (output.predicate_logits, ort_output.predicate_logits),
        ]
    for ours, theirs in compared:
        assert float((ours[mask] - theirs[mask]).abs().max()) <= 1e-4
    # One row of sense scores per frame (none without a sense head).
    if rolesets:
        assert output.sense_logits.shape == ort_output.sense_logits.shape == (16, len(rolesets))
        assert float((output.sense_logits - ort_output.sense_logits).abs().max()) <= 1e-4
    else:
        assert output.sense_logits is None and ort_output.sense_logits is None


def test_manifest_tells_another_language_what_to_feed(export):
    # Only the manifest and onnxruntime, as a program in another language would have them.
    import onnxruntime

    folder = onnx_folder(export)
    with open(os.path.join(folder, MANIFEST_FILE)) as manifest_file:
        manifest = json.load(manifest_file)
    labeler = SemanticRoleLabeler.from_pretrained(export)
    words, frames = read_conll_sentences(str(EWT_SAMPLE))[0]
    predicate = frames[0][0]
    frame = wordpiece_frame(labeler.aligner, words, predicate, manifest["max_wordpieces"])
    ids = numpy.array([frame.input_ids], dtype=numpy.int64)
    mask = numpy.ones_like(ids)
    types = numpy.array([frame.token_type_ids], dtype=numpy.int64)

    def run(graph, feed):
        spec = manifest["graphs"][graph]
        assert list(spec["inputs"]) == list(feed)
        for name, array in feed.items():
            assert spec["inputs"][name]["dtype"] == str(array.dtype)
        session = onnxruntime.InferenceSession(os.path.join(folder, spec["files"]["int8"]))
        return dict(zip(spec["outputs"], session.run(list(spec["outputs"]), feed)))

    if manifest["predicate_fusion_layer"]:
        shared = run("encode", {"input_ids": ids, "attention_mask": mask})["shared"]
        outputs = run("label", {"shared": shared, "attention_mask": mask, "token_type_ids": types})
    else:
        outputs = run("model", {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
    logits = outputs["logits"]
    assert logits.shape == (1, len(frame.input_ids), len(manifest["labels"]))
    path = decode_tags(torch.from_numpy(logits), [logits.shape[1]], manifest["labels"])[0]
    decoded = frame.word_tags([manifest["labels"][i] for i in path], len(words))
    int8 = SemanticRoleLabeler.from_pretrained(export, runtime="onnxruntime", precision="int8")
    assert decoded == int8.predict({"tokens": words, "predicates": [predicate]})["verbs"][0]["tags"]


def trained_export(tmp_path) -> str:
    source = os.path.join(FIXTURE, "export")
    if not os.path.isfile(os.path.join(source, "config.json")):
        pytest.fail(f"no export at SRL_PLUGIN_MODERN_FIXTURE={FIXTURE!r}: run the AllenNLP tests")
    return shutil.copytree(source, str(tmp_path / "export"))


def run(command, cwd):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run(command, cwd=str(cwd), env=env, capture_output=True, text=True)


def test_int8_labels_through_srl_label_as_fp32_does(tmp_path):
    export = trained_export(tmp_path)
    made = run([str(BIN / "srl-onnx"), export, "--int8"], tmp_path)
    assert made.returncode == 0, made.stderr[-2000:]
    assert "model.int8.onnx" in made.stdout
    text = tmp_path / "input.txt"
    lines = [" ".join(words) for words, _ in read_conll_sentences(str(EWT_SAMPLE))]
    text.write_text("\n".join(lines) + "\n", encoding="utf-8")
    outputs = {}
    for runtime, precision in [("torch", "fp32"), ("onnxruntime", "fp32")] + [
        ("onnxruntime", "int8"),
        ("torch", "int8"),
    ]:
        output = tmp_path / f"{runtime}-{precision}.jsonl"
        options = ["--runtime", runtime, "--precision", precision, "--threads", "1"]
        labelled = run(
            [str(BIN / "srl-label"), export, str(text), "-o", str(output)] + options, tmp_path
        )
        assert labelled.returncode == 0, labelled.stderr[-2000:]
        outputs[runtime, precision] = [json.loads(line) for line in output.read_text().splitlines()]
    fp32 = outputs["torch", "fp32"]
    assert tags(outputs["onnxruntime", "fp32"]) == tags(fp32)
    for config in [("onnxruntime", "int8"), ("torch", "int8")]:
        agreement = tag_agreement(outputs[config], fp32)
        print(f"{config}: {agreement:.4f} of word tags equal to fp32's")
        assert agreement >= 0.9, (config, agreement)


def tag_agreement(results, reference):
    """Word tags equal to the reference's, on the frames (same predicate) both found."""
    same = total = 0
    for ours, theirs in zip(results, reference):
        expected = {tuple(v["predicate_indices"]): v["tags"] for v in theirs["verbs"]}
        for verb in ours["verbs"]:
            reference_tags = expected.get(tuple(verb["predicate_indices"]))
            if reference_tags is not None:
                same += sum(a == b for a, b in zip(verb["tags"], reference_tags))
                total += len(reference_tags)
    assert total > 0
    return same / total


# What cannot work says so


@pytest.fixture(scope="module")
def bert_export(tmp_path_factory):
    return tiny_export("bert", 0, tmp_path_factory.mktemp("bert_errors"))


def test_missing_onnx_form_says_how_to_write_it(tmp_path, bert_export):
    bare = shutil.copytree(bert_export, str(tmp_path / "bare"))
    shutil.rmtree(onnx_folder(bare))
    with pytest.raises(ValueError, match=r"no ONNX form .*srl-onnx"):
        SemanticRoleLabeler.from_pretrained(bare, runtime="onnxruntime")
    (tmp_path / "input.txt").write_text("The cat sat .\n")
    result = run([str(BIN / "srl-label"), bare, "input.txt", "--runtime", "onnxruntime"], tmp_path)
    assert (
        result.returncode == 2 and "srl-onnx" in result.stderr and "Traceback" not in result.stderr
    )


def test_onnx_form_of_other_weights_is_refused(tmp_path, bert_export):
    copy = shutil.copytree(bert_export, str(tmp_path / "copy"))
    weights = Path(copy) / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-4] + b"\0\0\0\0")
    with pytest.raises(ValueError, match="written from other weights"):
        SemanticRoleLabeler.from_pretrained(copy, runtime="onnxruntime")


def test_missing_precision_says_how_to_write_it(tmp_path, bert_export):
    copy = shutil.copytree(bert_export, str(tmp_path / "fp32_only"))
    write_onnx(copy, int8=False, overwrite=True)
    assert not (Path(copy) / "onnx" / "model.int8.onnx").exists()
    with pytest.raises(ValueError, match=r"not int8: .*--int8"):
        SemanticRoleLabeler.from_pretrained(copy, runtime="onnxruntime", precision="int8")


def test_existing_onnx_form_is_kept_without_force(tmp_path, bert_export):
    result = run([str(BIN / "srl-onnx"), bert_export], tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"srl-onnx: error: {onnx_folder(bert_export)} already exists (use --force to replace it)"
    )


def test_failed_export_leaves_nothing_behind(tmp_path, bert_export, monkeypatch):
    from srl_plugin.hf.checkpoints import onnx_export

    copy = shutil.copytree(bert_export, str(tmp_path / "copy"))
    shutil.rmtree(onnx_folder(copy))
    before = sorted(os.listdir(copy))

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    # After the fp32 graph is written and checked, the quantization fails.
    monkeypatch.setattr(onnx_export, "_quantize", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        write_onnx(copy, int8=True)
    assert sorted(os.listdir(copy)) == before

    # The exporter cannot trace the model: the error names the family.
    monkeypatch.setattr(torch.onnx, "export", fail)
    with pytest.raises(ValueError, match=r"bert \(BertForSemanticRoleLabeling\) cannot be expo"):
        write_onnx(copy)
    assert sorted(os.listdir(copy)) == before


def test_graphs_that_differ_from_torch_are_refused(tmp_path, bert_export, monkeypatch):
    from srl_plugin.hf.checkpoints import onnx_export

    copy = shutil.copytree(bert_export, str(tmp_path / "copy"))
    shutil.rmtree(onnx_folder(copy))
    real = onnx_export._torch_outputs
    monkeypatch.setattr(onnx_export, "_torch_outputs", lambda *a: tuple(t + 1e-3 for t in real(*a)))
    with pytest.raises(ValueError, match=r"differ from PyTorch's by 0.001 \(more than 0.0001\)"):
        write_onnx(copy)
    assert not os.path.exists(onnx_folder(copy))


def test_missing_extra_is_named(bert_export, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ImportError, match=r'pip install "srl_plugin\[onnx\]"'):
        SemanticRoleLabeler.from_pretrained(bert_export, runtime="onnxruntime")
    with pytest.raises(ValueError, match=r'onnxruntime is missing\): pip install "srl_plugin'):
        write_onnx(bert_export, overwrite=True)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"runtime": "tensorrt"}, "runtime must be one of torch, onnxruntime, not 'tensorrt'"),
        ({"precision": "int4"}, "precision must be one of fp32, int8, bf16, fp16, not 'int4'"),
        ({"runtime": "onnxruntime", "precision": "bf16"}, "precision bf16 needs a CUDA device"),
        ({"runtime": "onnxruntime", "precision": "int8", "device": "cuda"}, "CPU only"),
    ],
)
def test_unknown_runtime_or_precision_is_named(bert_export, options, message):
    with pytest.raises(ValueError, match=message):
        SemanticRoleLabeler.from_pretrained(bert_export, **options)
