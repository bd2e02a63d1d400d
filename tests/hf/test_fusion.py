"""
The shared encoding (`predicate_fusion_layer > 0`): the lower layers run once per sentence,
and the result is what running every frame on its own gives.
"""

import pytest
import torch
from transformers import BertConfig, BertModel

from srl_plugin.hf.config import SrlSettings, set_srl_settings, srl_settings
from srl_plugin.hf.fusion import (
    init_predicate_marker,
    predicate_distances,
    shared_encoding,
    with_predicate_pair,
)
from srl_plugin.hf.labeler import SemanticRoleLabeler
from srl_plugin.hf.checkpoints.model_card import model_architecture, render_model_card
from srl_plugin.hf.modeling import BertForSemanticRoleLabeling
from srl_plugin.hf.tokenization import WordPieceAligner

LABELS = ["O", "B-V", "I-V", "B-ARG0", "I-ARG0", "B-ARG1", "I-ARG1"]
WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "cat", "sat", "on", "mat", "dog", "ran", "and"]


def tiny_model(
    fusion_layer: int, seed: int = 0, distance_radius: int = 2, pair_head: bool = False
) -> BertForSemanticRoleLabeling:
    config = BertConfig(
        vocab_size=len(WORDS),
        hidden_size=32,
        num_hidden_layers=3,
        num_attention_heads=2,
        intermediate_size=37,
        id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
    )
    set_srl_settings(config, SrlSettings.options(True, fusion_layer, distance_radius, pair_head))
    torch.manual_seed(seed)
    model = BertForSemanticRoleLabeling(config)
    init_predicate_marker(model)
    return model.eval()


def frames_batch():
    # Three frames of one sentence, one of another, padded.
    ids = torch.tensor(
        [
            [2, 4, 5, 6, 7, 4, 8, 3],
            [2, 4, 5, 6, 7, 4, 8, 3],
            [2, 4, 5, 6, 7, 4, 8, 3],
            [2, 9, 10, 11, 6, 3, 0, 0],
        ]
    )
    mask = (ids != 0).long()
    types = torch.zeros_like(ids)
    for row, position in enumerate([3, 1, 6, 2]):
        types[row, position] = 1
    return ids, mask, types


def test_layer_loop_is_the_encoder():
    model = tiny_model(1)
    ids, mask, _ = frames_batch()
    with torch.no_grad():
        stock = BertModel.forward(model.bert, input_ids=ids, attention_mask=mask)[0]
        ours = shared_encoding(model.bert, ids, mask, model.config.num_hidden_layers)
    assert torch.allclose(stock[mask.bool()], ours[mask.bool()], atol=1e-5)


@pytest.mark.parametrize("fusion_layer, pair_head", [(1, False), (2, False), (1, True)])
def test_fused_batch_equals_frames_one_by_one(fusion_layer, pair_head):
    model = tiny_model(fusion_layer, pair_head=pair_head)
    ids, mask, types = frames_batch()
    with torch.no_grad():
        batch = model(input_ids=ids, attention_mask=mask, token_type_ids=types)
        for row in range(ids.size(0)):
            size = int(mask[row].sum())
            alone = model(
                input_ids=ids[row : row + 1, :size], token_type_ids=types[row : row + 1, :size]
            )
            assert torch.allclose(batch.logits[row, :size], alone.logits[0], atol=1e-5)
            assert torch.allclose(
                batch.predicate_logits[row, :size], alone.predicate_logits[0], atol=1e-5
            )
    # The marker matters: another predicate gives other logits.
    assert not torch.allclose(batch.logits[0], batch.logits[1], atol=1e-3)


def test_fusion_layer_zero_is_the_input_marker():
    model = tiny_model(0)
    assert not hasattr(model, "predicate_marker")
    ids, mask, types = frames_batch()
    with torch.no_grad():
        ours = model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
        encoded = model.bert(input_ids=ids, attention_mask=mask, token_type_ids=types)[0]
        assert torch.equal(ours, model.classifier(encoded))


def test_bad_fusion_layer_is_named():
    with pytest.raises(ValueError, match="predicate_fusion_layer must be between 0 and 2"):
        tiny_model(3)


def test_marker_gets_a_gradient_and_round_trips(tmp_path):
    model = tiny_model(2).train()
    ids, mask, types = frames_batch()
    labels = torch.where(types == 1, torch.tensor(1), torch.tensor(0))
    model(input_ids=ids, attention_mask=mask, token_type_ids=types, labels=labels).loss.backward()
    assert model.predicate_marker.grad is not None and model.predicate_marker.grad.abs().sum() > 0
    model.eval().save_pretrained(tmp_path)
    again = BertForSemanticRoleLabeling.from_pretrained(tmp_path).eval()
    assert srl_settings(again.config).predicate_fusion_layer == 2
    assert torch.equal(again.predicate_marker, model.predicate_marker)
    assert model.predicate_distance.weight.grad.abs().sum() > 0
    assert srl_settings(again.config).predicate_distance_radius == 2
    assert torch.equal(again.predicate_distance.weight, model.predicate_distance.weight)


def test_pair_head_reads_each_wordpiece_with_its_predicate():
    torch.manual_seed(0)
    projection = torch.nn.Linear(3 * 4, 4)
    hidden = torch.randn(2, 5, 4)
    # A predicate of two wordpieces, and a frame without one (a sentence for the finder).
    mask = torch.tensor([[0, 1, 1, 0, 0], [0, 0, 0, 0, 0]])
    ours = with_predicate_pair(hidden, mask, projection)
    predicate = (hidden[0, 1] + hidden[0, 2]) / 2
    for position in range(5):
        h = hidden[0, position]
        pair = torch.cat([h, predicate, h * predicate])
        expected = h + torch.nn.functional.gelu(projection(pair))
        assert torch.allclose(ours[0, position], expected, atol=1e-6)
    zero = torch.zeros(4)
    expected = hidden[1] + torch.nn.functional.gelu(
        projection(torch.cat([hidden[1], zero.expand(5, 4), zero.expand(5, 4)], dim=-1))
    )
    assert torch.allclose(ours[1], expected, atol=1e-6)


def test_pair_head_comes_with_fusion_by_default():
    for fusion_layer, expected in [(0, False), (1, True)]:
        config = BertConfig()
        set_srl_settings(config, SrlSettings.options(True, fusion_layer, 2))
        assert srl_settings(config).predicate_pair_head is expected
    config = BertConfig()
    set_srl_settings(config, SrlSettings.options(True, 1, 2, predicate_pair_head=False))
    assert srl_settings(config).predicate_pair_head is False


@pytest.mark.parametrize("fusion_layer", [0, 2])
def test_pair_head_round_trips_and_changes_the_tags_input(fusion_layer, tmp_path):
    model = tiny_model(fusion_layer, pair_head=True)
    assert tiny_model(fusion_layer).pair_projection is None
    ids, mask, types = frames_batch()
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
    model.save_pretrained(tmp_path)
    again = BertForSemanticRoleLabeling.from_pretrained(tmp_path).eval()
    assert srl_settings(again.config).predicate_pair_head is True
    with torch.no_grad():
        assert torch.equal(
            again(input_ids=ids, attention_mask=mask, token_type_ids=types).logits, logits
        )
        model.pair_projection.weight.zero_()
        model.pair_projection.bias.zero_()
        # gelu(0) = 0: without the projection the tags read the encoder's output alone.
        plain = model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
    assert not torch.allclose(plain, logits, atol=1e-4)
    with pytest.raises(ValueError, match="predicate_pair_head needs token_type_ids"):
        model.tag_logits(torch.zeros(1, 3, 32), None)
    # Even at fusion layer 0, a stock token-classification class cannot run it; the card says so.
    card = render_model_card("base", LABELS, **model_architecture(model))
    assert "**cannot run this model**" in card and "pair_projection" in card
    assert "**cannot run this model**" not in render_model_card(
        "base", LABELS, **model_architecture(tiny_model(0))
    )


def test_offsets_from_the_predicate_are_clipped():
    mask = torch.tensor([[0, 0, 0, 1, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0, 0]])
    # Radius 2: offsets -2 .. 2 become indices 0 .. 4.
    assert predicate_distances(mask, 5).tolist() == [
        [0, 0, 1, 2, 3, 4, 4, 4],
        [2, 3, 4, 4, 4, 4, 4, 4],
    ]


@pytest.mark.parametrize("radius", [0, 2])
def test_offset_embeddings_are_the_options(radius):
    model = tiny_model(1, distance_radius=radius)
    ids, mask, types = frames_batch()
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
        if radius:
            model.predicate_distance.weight.zero_()
            without = model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
            assert not torch.allclose(logits, without, atol=1e-4)
        else:
            assert model.predicate_distance is None
    assert srl_settings(tiny_model(0, distance_radius=radius).config).predicate_distance_radius == 0


def test_labeler_runs_the_lower_layers_once_per_sentence():
    model = tiny_model(2)
    aligner = WordPieceAligner({word: i for i, word in enumerate(WORDS)}, lowercase=True)
    rows = {"lower": 0, "upper": 0}

    def count(name):
        def hook(module, inputs):
            rows[name] += inputs[0].size(0)

        return hook

    model.bert.encoder.layer[0].register_forward_pre_hook(count("lower"))
    model.bert.encoder.layer[2].register_forward_pre_hook(count("upper"))
    model.predicate_classifier.bias.data[:] = torch.tensor([0.0, -50.0, -50.0])  # no predicates
    labeler = SemanticRoleLabeler(model, aligner, batch_size=2)
    items = [
        {"tokens": "the cat sat on the mat".split(), "predicates": [1, 2, 5]},
        {"tokens": "the dog ran and sat".split(), "predicates": [2, 4]},
        "the cat ran",  # raw: the predicate head reads the shared encoding; no predicate found
    ]
    results = labeler.predict_batch(items)
    assert rows == {"lower": 3, "upper": 5}
    assert results[2]["verbs"] == []
    # The same tags as running every frame through the model on its own.
    for item, result in zip(items[:2], results):
        for predicate, verb in zip(item["predicates"], result["verbs"]):
            frame = labeler.label_frames([(item["tokens"], [predicate])])[0]
            assert verb["tags"] == frame
            with torch.no_grad():
                ids = aligner.tokenize(item["tokens"]).ids
                types = [0] * len(ids)
                types[aligner.tokenize(item["tokens"]).start_offsets[predicate]] = 1
                logits = model(
                    input_ids=torch.tensor([ids]), token_type_ids=torch.tensor([types])
                ).logits
            path = model.decode(logits, [len(ids)])[0]
            offsets = aligner.tokenize(item["tokens"]).start_offsets
            assert verb["tags"] == [LABELS[path[offset]] for offset in offsets]


def test_marker_starts_in_the_token_type_direction_at_the_hidden_states_size():
    model = tiny_model(2)
    with torch.no_grad():
        layer_norm = model.bert.encoder.layer[1].output.LayerNorm
        layer_norm.weight.mul_(3.0)  # a size that differs from the default's sqrt(hidden_size)
        init_predicate_marker(model)
    types = model.bert.embeddings.token_type_embeddings.weight
    direction = types[1] - types[0]
    marker = model.predicate_marker.detach()
    assert torch.allclose(marker.norm(), layer_norm.weight.norm(), rtol=1e-5)
    assert torch.allclose(marker / marker.norm(), direction / direction.norm(), atol=1e-6)
    # Larger than the token-type difference itself, which the layers above would barely see.
    assert marker.norm() > 10 * direction.norm()
