"""
Every encoder family end to end, from a tiny checkpoint built in code: `allennlp train` through
the hf_export callback; the export loads with `AutoModelForTokenClassification` (no missing
weights) and with the family's SRL class; its logits equal the AllenNLP model's; the labeler's
tags equal `allennlp predict`'s on every frame of the sample; srl-export/srl-import and
fine-tuning from the archive start from exactly the trained weights. The same exports are
checked in the modern environments (tests/hf/test_modern_environment.py).
"""

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict

import pytest
import torch
from allennlp.models.archival import load_archive
from allennlp.predictors import Predictor
from transformers import AutoModelForTokenClassification, AutoTokenizer

from srl_plugin.archives.archive import export_checkpoint, read_srl_checkpoint, write_archive
from srl_plugin.archives.resolution import resolve_checkpoint
from srl_plugin.hf import AutoModelForSemanticRoleLabeling, SemanticRoleLabeler
from srl_plugin.hf.checkpoints.export import load_pretrained_srl_model
from srl_plugin.hf.families import FAMILIES
from tests import EWT_SAMPLE
from tests.cli import train_tiny
from tests.test_training import _write_modern_fixture, assert_export_logits_equal, sample_frames
from tests.stock_loading import stock_from_pretrained
from tests.tiny_bert import conll_words, make_tiny_model

# BERT is trained by tests/test_training.py's trained_run.
TRAINED_FAMILIES = [model_type for model_type in FAMILIES if model_type != "bert"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """
    One `allennlp train` run per family (a few epochs of a tiny model on the EWT sample), all
    started at once: each is a one-thread process, so together they use every core.
    """
    words = conll_words(str(EWT_SAMPLE))

    def train(model_type):
        root = tmp_path_factory.mktemp(model_type.replace("-", "_"))
        # RoBERTa's and XLM-R's own size (514 positions): SemanticRoleLabeler windows at
        # max_position_embeddings (see test_labeler_windows_roberta_within_its_positions).
        positions = 512 if model_type in ("roberta", "xlm-roberta") else 128
        checkpoint = make_tiny_model(model_type, str(root / "base"), words, positions)
        overrides: Dict[str, Any] = {"trainer.num_epochs": 3}
        if model_type == "albert":
            # AllenNLP's NormalizationBiasVerification takes ALBERT's residual ffn_output ->
            # full_layer_layer_norm for a biased layer feeding a norm (README: ALBERT).
            overrides["trainer.run_confidence_checks"] = False
        return train_tiny(checkpoint, str(root / "run"), json.dumps(overrides)), root / "run"

    with ThreadPoolExecutor(max_workers=len(TRAINED_FAMILIES)) as pool:
        return dict(zip(TRAINED_FAMILIES, pool.map(train, TRAINED_FAMILIES)))


@pytest.fixture(scope="module", params=TRAINED_FAMILIES)
def run(request, runs):
    result, output = runs[request.param]
    assert result.returncode == 0, result.stderr[-3000:]
    return request.param, output


@pytest.fixture(scope="module")
def archive(run):
    return load_archive(str(run[1] / "model.tar.gz"))


@pytest.fixture(scope="module")
def frames(archive):
    return sample_frames(archive)


def test_export_loads_with_stock_token_classification_and_the_family_class(run):
    model_type, output = run
    export = str(output / "hf_model")
    model, info = stock_from_pretrained(
        AutoModelForTokenClassification, export, output_loading_info=True
    )
    assert model.config.model_type == model_type
    assert info["missing_keys"] == []
    # The EWT sample has rolesets: the model has a sense head besides the predicate head.
    assert sorted(info["unexpected_keys"]) == [
        "predicate_classifier.bias",
        "predicate_classifier.weight",
        "sense_classifier.bias",
        "sense_classifier.weight",
    ]
    assert model.config.type_vocab_size == 2
    srl_model = AutoModelForSemanticRoleLabeling.from_pretrained(export)
    assert type(srl_model).__name__ == FAMILIES[model_type].srl_class
    assert model.config.architectures == [FAMILIES[model_type].srl_class]
    labeler = SemanticRoleLabeler.from_pretrained(export)
    assert type(labeler.model) is type(srl_model)


def test_export_logits_equal_allennlp_model_logits(run, archive, frames):
    assert_export_logits_equal(archive, frames[:48], str(run[1] / "hf_model"))


def test_labeler_tags_equal_allennlp_predict_on_every_frame(run, archive, frames):
    model_type, output = run
    lines = [
        {"tokens": i["metadata"]["words"], "predicates": [i["metadata"]["predicate_indices"]]}
        for i in frames
    ]
    # `allennlp predict`'s code path in-process (tests/test_training.py runs the command itself
    # for BERT): the archive's hf_srl predictor, batches of 16.
    predictor = Predictor.from_archive(archive, "hf_srl")
    predicted = [
        output
        for start in range(0, len(lines), 16)
        for output in predictor.predict_batch_json(lines[start : start + 16])
    ]
    assert len(predicted) == len(lines)
    export = str(output / "hf_model")
    labeled = SemanticRoleLabeler.from_pretrained(export, batch_size=16).predict_batch(lines)
    assert [v["tags"] for p in labeled for v in p["verbs"]] == [
        v["tags"] for p in predicted for v in p["verbs"]
    ]
    # The export's tokenizer files give the reader's ids.
    tokenizer = AutoTokenizer.from_pretrained(export)
    for instance in frames:
        frame = instance["metadata"]["frame"]
        words = instance["metadata"]["words"][frame.window[0] : frame.window[1]]
        assert tokenizer(words, is_split_into_words=True)["input_ids"] == frame.input_ids
    _write_modern_fixture(output, lines, predicted, model_type)


def test_srl_export_import_and_fine_tuning_start_from_the_trained_weights(run, tmp_path):
    model_type, output = run
    archive = str(output / "model.tar.gz")
    expected = AutoModelForSemanticRoleLabeling.from_pretrained(str(output / "hf_model"))
    expected_state = expected.state_dict()

    def same_weights(model):
        state = model.state_dict()
        assert set(state) == set(expected_state)
        assert all(torch.equal(state[k], expected_state[k]) for k in state)

    checkpoint = read_srl_checkpoint(archive)
    same_weights(checkpoint.model)
    export = export_checkpoint(checkpoint, str(tmp_path / "export"))
    same_weights(AutoModelForSemanticRoleLabeling.from_pretrained(export))
    imported = write_archive(read_srl_checkpoint(export), str(tmp_path / "imported.tar.gz"))
    same_weights(read_srl_checkpoint(imported).model)
    # `bert_model` = the archive: training starts from the archive's export, labels kept.
    labels = [expected.config.id2label[i] for i in range(expected.config.num_labels)]
    start = resolve_checkpoint(archive).srl_model(labels[::-1])
    assert type(start) is type(expected)
    with torch.no_grad():
        assert torch.equal(start.classifier.weight, expected.classifier.weight.flip(0))


@pytest.mark.parametrize("model_type", ["gpt2", "t5", "distilbert"])
def test_other_families_fail_before_training_naming_model_type(model_type, tmp_path):
    from transformers import AutoConfig

    from srl_plugin.dataset_readers.srl_conll import HfSrlReader

    AutoConfig.for_model(model_type).save_pretrained(str(tmp_path))
    message = f"is a '{model_type}' model; SRL can start from these encoder families only: bert"
    with pytest.raises(ValueError, match=message):
        HfSrlReader(bert_model=str(tmp_path))
    with pytest.raises(ValueError, match=message):
        load_pretrained_srl_model(str(tmp_path), ["O", "B-V"])
    # `allennlp train` builds the reader first: it stops there, before any training.


def test_labeler_windows_roberta_within_its_positions(tmp_path):
    # RoBERTa numbers positions from pad_token_id + 1: 130 embeddings hold 128 sub-words.
    checkpoint = make_tiny_model("roberta", str(tmp_path / "base"), conll_words(str(EWT_SAMPLE)))
    model = load_pretrained_srl_model(checkpoint, ["O", "B-V", "I-V", "B-ARG0", "I-ARG0"])
    from srl_plugin.hf.tokenization import aligner_from_pretrained

    labeler = SemanticRoleLabeler(model.eval(), aligner_from_pretrained(checkpoint))
    words = ["word"] * 127  # 129 sub-words with <s> and </s>
    output = labeler.predict({"tokens": words, "predicates": [3]})
    assert len(output["verbs"][0]["tags"]) == 127
