"""A tiny export (random SRL heads on the tiny BERT) written with `write_export`, no AllenNLP."""

import torch
from transformers import BertConfig

from srl_plugin.hf.checkpoints.building import build_srl_model, to_srl_names
from srl_plugin.hf.checkpoints.export import write_export
from srl_plugin.hf.config import SrlSettings, set_srl_settings
from srl_plugin.hf.checkpoints.model_card import predicate_head_status, render_model_card
from srl_plugin.hf.tokenization import WordPieceAligner
from srl_plugin.hf.checkpoints.weights import read_weights

LABELS = ["O", "B-V", "I-V", "B-ARG0", "I-ARG0", "B-ARG1", "I-ARG1"]
METRICS = {"best_validation_f1-measure-overall": 0.4321, "best_validation_predicate-f1": 0.8765}


def make_tiny_export(
    tiny_bert: str,
    directory: str,
    predicate_head: bool = True,
    pytorch_bin: bool = False,
    fusion_layer: int = 0,
) -> str:
    config = BertConfig.from_pretrained(tiny_bert)
    set_srl_settings(config, SrlSettings.options(predicate_head, fusion_layer))
    torch.manual_seed(0)
    model = build_srl_model(config, to_srl_names(read_weights(tiny_bert)), LABELS, tiny_bert)
    if predicate_head:
        with torch.no_grad():  # A head that finds some predicates, so outputs are not empty.
            model.predicate_classifier.bias.copy_(torch.tensor([0.0, 0.5, -5.0]))
    card = render_model_card(
        tiny_bert,
        LABELS,
        train_data="/somewhere/data/conll2012/train",
        validation_data="/somewhere/data/conll2012/dev",
        metrics=METRICS,
        predicate_head=predicate_head_status(model),
        license="cc-by-sa-4.0",
        datasets=["ewt"],
        pytorch_bin=pytorch_bin,
    )
    aligner = WordPieceAligner.from_pretrained(tiny_bert)
    return write_export(model, aligner, directory, card, pytorch_bin=pytorch_bin)
