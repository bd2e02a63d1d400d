"""
Converted allennlp-models `srl_bert` archives have no predicate finder: without one a raw sentence
gets a clear error; `srl-export --predicate-data` and `srl-fit-predicates` fit one (on the frozen
encoder, from the EWT sample) so the export labels raw sentences, finding the predicates its own
head's logits give.
"""

import json
import os
import shutil

import pytest
import torch
from huggingface_hub import ModelCard

from srl_plugin.hf import SemanticRoleLabeler, read_export
from srl_plugin.hf.cli.fit_predicates import main as fit_predicates_main
from srl_plugin.hf.conll import read_conll2012
from srl_plugin.hf.labels import predicate_bio_labels, predicate_spans
from srl_plugin.hf.predicates import F1, count_predicates
from tests import EWT_SAMPLE
from tests.cli import allennlp_command
from tests.plain_forward import PlainForward

# Sentences in the words of the EWT sample (the tiny BERT knows few others).
RAW = [
    "I would recommend this place to anyone .",
    "The staff was very friendly and the food was good .",
    "We went there last night and had a great time .",
]


def allennlp(*args: str):
    return allennlp_command(*args, env={"OMP_NUM_THREADS": "1"})


# Every test here runs on one torch thread (`one_torch_thread`).
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def plain_export(srl_bert_run, tmp_path_factory):
    output = str(tmp_path_factory.mktemp("plain") / "hf_model")
    result = allennlp("srl-export", str(srl_bert_run / "model.tar.gz"), output)
    assert result.returncode == 0, result.stderr[-3000:]
    return output


@pytest.fixture(scope="module")
def fitted_export(srl_bert_run, tmp_path_factory):
    output = str(tmp_path_factory.mktemp("fitted") / "hf_model")
    archive = str(srl_bert_run / "model.tar.gz")
    result = allennlp("srl-export", archive, output, "--predicate-data", str(EWT_SAMPLE))
    assert result.returncode == 0, result.stderr[-3000:]
    return output


def test_conll_reader_equals_allennlp_models_ontonotes():
    from allennlp_models.common.ontonotes import Ontonotes

    reader = Ontonotes()
    files = sorted(reader.dataset_path_iterator(str(EWT_SAMPLE)))
    theirs = [s for path in files for s in reader.sentence_iterator(path)]
    ours = list(read_conll2012(str(EWT_SAMPLE)))
    assert [s.words for s in ours] == [s.words for s in theirs]
    assert [s.frames for s in ours] == [[tags for _, tags in s.srl_frames] for s in theirs]
    assert sum(len(s.frames) for s in ours) > 100


def test_without_a_head_a_raw_sentence_is_a_clear_error(plain_export):
    labeler = SemanticRoleLabeler.from_pretrained(plain_export)
    assert labeler.model.predicate_classifier is None
    with pytest.raises(
        ValueError, match="no predicate-identification head.*give them as word indices"
    ):
        labeler.predict(RAW[0])
    with pytest.raises(ValueError, match="no predicate-identification head"):
        labeler.find_predicates([RAW[0].split()])
    card = ModelCard.load(os.path.join(plain_export, "README.md"))
    assert "No predicate-identification head" in card.text


def test_fitted_head_is_the_labelers_predicate_finder(fitted_export):
    config = json.load(open(os.path.join(fitted_export, "config.json")))
    fit = config["srl_predicate_head_fit"]
    fit_f1 = fit[f"fit_{F1}"]
    assert config["srl_predicate_head"] is True
    assert fit["data"] == "fixtures/ewt_sample" and fit["sentences"] == 100
    assert "fitted afterwards" in ModelCard.load(os.path.join(fitted_export, "README.md")).text
    sample = list(read_conll2012(str(EWT_SAMPLE)))
    gold = [predicate_spans(predicate_bio_labels(len(s.words), s.frames)) for s in sample]
    # The fit learned from its data: well above marking every word a predicate (F1 0.30, the
    # best that ignores the encoder), with room for what a tiny model learns on another CPU.
    every_word = [[[word] for word in range(len(s.words))] for s in sample]
    assert count_predicates(every_word, gold).scores()[F1] < 0.31
    assert fit_f1 > 0.4
    # The labeler finds the predicates of the export's own head logits (argmax, then spans), and
    # labels each with the tagger's logits: on raw sentences and on the whole fitting data.
    plain = PlainForward(fitted_export)
    outputs = SemanticRoleLabeler.from_pretrained(fitted_export).predict_batch(
        RAW + [{"tokens": s.words} for s in sample]
    )
    expected = [plain.predicates(output["words"]) for output in outputs]
    assert [[v["predicate_indices"] for v in o["verbs"]] for o in outputs] == expected
    for output in outputs:
        for verb in output["verbs"]:
            tags, _ = plain.frame(output["words"], verb["predicate_indices"])
            assert verb["tags"] == tags, output["words"]
    # And that head is the one the fit scored: its F1 on the fitting data, recomputed here (so
    # above 0.4: the comparisons above are not of empty lists).
    recomputed = count_predicates(expected[len(RAW) :], gold).scores()[F1]
    assert recomputed == pytest.approx(fit_f1, abs=0.01)


def test_srl_fit_predicates_on_an_existing_export(plain_export, fitted_export, tmp_path):
    output = str(tmp_path / "refitted")
    fit_predicates_main([plain_export, str(EWT_SAMPLE), "--output", output])
    refitted, _ = read_export(output)
    fitted, _ = read_export(fitted_export)
    # The same data and the same frozen features: the same head as srl-export's.
    for name in ("weight", "bias"):
        assert torch.allclose(
            getattr(refitted.predicate_classifier, name),
            getattr(fitted.predicate_classifier, name),
            atol=1e-4,
        )
    # Nothing but the head changed.
    plain, _ = read_export(plain_export)
    for name, tensor in plain.state_dict().items():
        assert torch.equal(tensor, refitted.state_dict()[name]), name
    card = ModelCard.load(os.path.join(output, "README.md"))
    assert "fitted afterwards" in card.text and "No predicate-identification head" not in card.text
    # Refuses to overwrite: one line and exit status 2.
    assert fit_predicates_main([plain_export, str(EWT_SAMPLE), "--output", output]) == 2


def test_srl_export_writes_pytorch_bin_only_where_asked(srl_bert_run, plain_export, tmp_path):
    from transformers import BertForTokenClassification

    from srl_plugin.hf.checkpoints.weights import read_safetensors

    assert "pytorch_model.bin" not in os.listdir(plain_export)
    output = str(tmp_path / "with_bin")
    result = allennlp("srl-export", str(srl_bert_run / "model.tar.gz"), output, "--pytorch-bin")
    assert result.returncode == 0, result.stderr[-3000:]
    # Read by this environment's transformers (4.20) by itself; the same weights.
    model = BertForTokenClassification.from_pretrained(output)
    saved = read_safetensors(os.path.join(output, "model.safetensors"))
    assert torch.equal(model.classifier.weight, saved["classifier.weight"])
    assert torch.equal(
        model.bert.embeddings.word_embeddings.weight,
        saved["bert.embeddings.word_embeddings.weight"],
    )


def test_srl_import_takes_a_cached_repo_id(fitted_export, tmp_path):
    revision = "0123456789abcdef0123456789abcdef01234567"
    storage = tmp_path / "hub" / "models--acme--srl-bert-fitted"
    shutil.copytree(fitted_export, storage / "snapshots" / revision)
    (storage / "refs").mkdir()
    (storage / "refs" / "main").write_text(revision)
    archive = tmp_path / "model.tar.gz"
    cache = str(tmp_path / "hub")
    env = {"HF_HUB_CACHE": cache, "HUGGINGFACE_HUB_CACHE": cache, "OMP_NUM_THREADS": "1"}
    result = allennlp_command("srl-import", "acme/srl-bert-fitted", str(archive), env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert archive.is_file()
    missing = allennlp_command("srl-import", "acme/not-there", str(tmp_path / "x.tar.gz"), env=env)
    assert missing.returncode != 0
    assert "not in the local Hugging Face cache" in missing.stderr
