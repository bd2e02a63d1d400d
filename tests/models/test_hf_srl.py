"""
`hf_srl` as allennlp-models tests its models: it trains, saves and loads to the same weights and
predictions, and every trainable parameter gets a gradient (the sense head's too: the EWT sample
has rolesets). Its sense head: the loss, the decoded rolesets and the option.
"""

import json

import pytest
import torch
from allennlp.common.testing import ModelTestCase
from allennlp.data import Batch, Vocabulary

from srl_plugin.dataset_readers.srl_conll import HfSrlReader
from srl_plugin.models.hf_srl import HfSrlModel
from tests import SENSES_FIXTURE
from tests.cli import TINY_CONFIG, tiny_config_vars


class TestHfSrlModel(ModelTestCase):
    def test_model_can_train_save_and_load(self, tiny_bert, monkeypatch):
        for name, value in tiny_config_vars(tiny_bert).items():
            monkeypatch.setenv(name, value)
        overrides = {
            "trainer.num_epochs": 1,
            # The whole sample in one batch. The batch the gradient check takes then holds both
            # kinds of instance, frames (which train the tagger) and sentences (which train the
            # predicate head), so no parameter has to be left out of the check; and the bucket
            # sampler's random batch order cannot give the trained and the reloaded model
            # different first batches to compare.
            "data_loader.batch_sampler.batch_size": 400,
        }
        self.ensure_model_can_train_save_and_load(
            TINY_CONFIG, overrides=json.dumps(overrides), seed=0
        )


@pytest.fixture(scope="module")
def senses_data(senses_bert):
    """The senses fixture's instances, read by the `hf_srl` reader, and their vocabulary."""
    reader = HfSrlReader(bert_model=senses_bert)
    instances = list(reader.read(str(SENSES_FIXTURE)))
    return instances, Vocabulary.from_instances(instances)


def _model(bert: str, vocab: Vocabulary, **options) -> HfSrlModel:
    torch.manual_seed(0)
    return HfSrlModel(vocab, bert, **options).eval()


def _tensors(instances, vocab):
    batch = Batch(instances)
    batch.index_instances(vocab)
    return batch.as_tensor_dict()


def test_sense_loss_is_the_sense_heads_weighted_cross_entropy(senses_bert, senses_data):
    instances, vocab = senses_data
    model = _model(senses_bert, vocab, sense_loss_weight=0.25)
    assert model.hf_model.rolesets == ["run.02", "run.01", "have.03", "have.01", "see.01"]
    tensors = _tensors(instances, vocab)
    with torch.no_grad():
        with_senses = model(**tensors)
        without = model(**{k: v for k, v in tensors.items() if k != "sense_labels"})
    labels = tensors["sense_labels"]
    labelled = labels != -100
    # The frames with a roleset in the vocabulary, none of the others.
    assert labelled.sum() == 12
    expected = torch.nn.functional.cross_entropy(
        with_senses["sense_logits"][labelled], labels[labelled]
    )
    assert with_senses["loss"] - without["loss"] == pytest.approx(0.25 * expected.item(), abs=1e-5)
    # A batch without any roleset adds 0, not NaN.
    windows = [i for i in instances if not i["metadata"]["is_frame"]]
    with torch.no_grad():
        loss = model(**_tensors(windows, vocab))["loss"]
    assert torch.isfinite(loss)


def test_rolesets_follow_the_sense_head(senses_bert, senses_data):
    instances, vocab = senses_data
    model = _model(senses_bert, vocab)
    frames = [i for i in instances if i["metadata"]["is_frame"]]
    tensors = _tensors(frames, vocab)
    head = model.hf_model.sense_classifier
    predicted = {}
    for favoured in ("run.01", "run.02"):
        with torch.no_grad():
            head.weight.zero_()
            head.bias.zero_()
            head.bias[vocab.get_token_index(favoured, "roleset_labels")] = 10.0
            head.bias[vocab.get_token_index("have.01", "roleset_labels")] = 5.0
            output = model.make_output_human_readable(model(**tensors))
        predicted[favoured] = {
            (m["verb"], roleset) for m, roleset in zip(output["metadata"], output["rolesets"])
        }
        senses = [s for s in output["senses"] if s is not None and s.lemma == "run"]
        assert {s.roleset for s in senses} == {favoured} and all(s.from_model for s in senses)
    assert predicted["run.01"] == {
        ("runs", "run.01"),
        ("run", "run.01"),
        ("ran", "run.01"),
        ("has", "have.01"),
        ("have", "have.01"),
        ("seen", "see.01"),
        ("said", "say.01"),  # not in the head: the fallback
        (None, None),  # the sentence without a predicate
    }
    assert {r for v, r in predicted["run.02"] if v in ("runs", "run", "ran")} == {"run.02"}


def test_sense_head_option(senses_bert, senses_data):
    instances, vocab = senses_data
    with_head = _model(senses_bert, vocab)
    without = _model(senses_bert, vocab, sense_head=False)
    assert without.hf_model.sense_classifier is None and without.hf_model.rolesets == []
    assert "srl_rolesets" not in without.hf_model.config.to_dict()
    # Every other weight is drawn as in a model without the head (today's models unchanged).
    state = with_head.state_dict()
    assert {k for k in state if k.startswith("sense_classifier.")} == {
        "sense_classifier.weight",
        "sense_classifier.bias",
    }
    for name, tensor in without.state_dict().items():
        assert torch.equal(tensor, state[name]), name
    tensors = _tensors(instances[:6], vocab)
    with torch.no_grad():
        assert "sense_logits" not in without(**tensors)
    without.get_metrics(reset=True)
    with_head(**tensors)
    assert "sense_accuracy" in with_head.get_metrics()
    assert not [k for k in without.get_metrics() if "sense" in k]
    labels_only = Vocabulary()
    labels_only.add_tokens_to_namespace(["O", "B-V"], "labels")
    with pytest.raises(ValueError, match="sense_head is true but the vocabulary has no rolesets"):
        HfSrlModel(labels_only, senses_bert, sense_head=True)
