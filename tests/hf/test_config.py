"""
A model's SRL settings in `config.json`: their defaults, the `srl_` names, and exports written
before those names (`predicate_fusion_layer`, ... without the prefix), which must still load.
"""

import json
import shutil

import torch
from transformers import BertConfig

from srl_plugin.hf.checkpoints.export import read_encoder_config, read_export, write_export
from srl_plugin.hf.config import SrlSettings, read_config_json, srl_settings
from srl_plugin.hf.frames import config_max_wordpieces
from srl_plugin.hf.labeler import SemanticRoleLabeler
from tests.hf.tiny_export import make_tiny_export

OLD_NAMES = ["predicate_fusion_layer", "predicate_distance_radius", "predicate_pair_head"]


def frames_batch(aligner):
    # Two frames of one sentence, the predicate marked on its first wordpiece.
    pieces = aligner.tokenize("the man said it was over".split())
    ids = torch.tensor([pieces.ids, pieces.ids])
    types = torch.zeros_like(ids)
    types[0, pieces.start_offsets[2]] = types[1, pieces.start_offsets[4]] = 1
    return ids, types


def test_export_with_the_old_setting_names_is_the_same_model(tiny_bert, tmp_path):
    new = make_tiny_export(tiny_bert, str(tmp_path / "new"), fusion_layer=1)
    written = json.loads((tmp_path / "new" / "config.json").read_text())
    # Not the defaults: a fused model with offset embeddings and the pair head.
    assert srl_settings(written) == SrlSettings(True, 1, 16, True)
    assert not set(OLD_NAMES) & set(written)
    old = tmp_path / "old"
    shutil.copytree(new, old)
    values = dict(written)
    for name in OLD_NAMES:
        values[name] = values.pop("srl_" + name)
    (old / "config.json").write_text(json.dumps(values, indent=2))

    new_model, _ = read_export(new)
    old_model, aligner = read_export(str(old))
    assert srl_settings(old_model.config) == srl_settings(new_model.config)
    assert old_model.predicate_fusion_layer == 1 and old_model.pair_projection is not None
    ids, types = frames_batch(aligner)
    with torch.no_grad():
        new_output = new_model(input_ids=ids, token_type_ids=types)
        old_output = old_model(input_ids=ids, token_type_ids=types)
    assert torch.equal(old_output.logits, new_output.logits)
    assert torch.equal(old_output.predicate_logits, new_output.predicate_logits)
    sentence = "The man said it was over ."
    assert SemanticRoleLabeler.from_pretrained(str(old)).predict(
        sentence
    ) == SemanticRoleLabeler.from_pretrained(new).predict(sentence)

    # Written again, the config has the new names only.
    again = write_export(old_model, aligner, str(tmp_path / "again"), "# again\n")
    rewritten = json.loads((tmp_path / "again" / "config.json").read_text())
    assert not set(OLD_NAMES) & set(rewritten)
    for name in OLD_NAMES:
        assert rewritten["srl_" + name] == written["srl_" + name]
    assert srl_settings(read_export(again)[0].config) == SrlSettings(True, 1, 16, True)


def test_settings_of_a_plain_encoder_config_are_srl_berts():
    plain = SrlSettings(
        predicate_head=True,
        predicate_fusion_layer=0,
        predicate_distance_radius=0,
        predicate_pair_head=False,
        predicate_head_fit=None,
    )
    assert srl_settings(BertConfig()) == plain
    assert srl_settings(BertConfig().to_dict()) == plain
    assert srl_settings({}) == plain


def test_config_json_without_model_type_is_bert(tmp_path):
    # Google's first BERT checkpoints have no `model_type` in their config.
    values = BertConfig(max_position_embeddings=64).to_dict()
    del values["model_type"]
    (tmp_path / "config.json").write_text(json.dumps(values))
    config = read_config_json(str(tmp_path))
    assert config["model_type"] == "bert"
    config = read_encoder_config(str(tmp_path), "a BERT checkpoint")
    assert isinstance(config, BertConfig) and config_max_wordpieces(config) == 64
