import glob
import os

import pytest
import torch
from transformers import BertConfig

from srl_plugin.hf.checkpoints.building import build_srl_model, to_srl_names
from srl_plugin.hf.checkpoints.export import write_export
from srl_plugin.hf.labeler import SemanticRoleLabeler
from srl_plugin.hf.tokenization import WordPieceAligner
from srl_plugin.hf.checkpoints.weights import read_weights

LABELS = ["O", "B-V", "I-V", "B-ARG0", "I-ARG0", "B-ARG1", "I-ARG1"]


@pytest.fixture(scope="session")
def labeler(tiny_bert):
    """An untrained labeler on the tiny BERT whose heads find predicates and arguments."""
    config = BertConfig.from_pretrained(tiny_bert)
    torch.manual_seed(0)  # the fresh heads, whatever ran before
    model = build_srl_model(config, to_srl_names(read_weights(tiny_bert)), LABELS, tiny_bert)
    with torch.no_grad():  # A head that finds predicates and arguments, so outputs are not empty.
        model.predicate_classifier.bias.copy_(torch.tensor([0.0, 0.5, -5.0]))
    return SemanticRoleLabeler(
        model.eval(), WordPieceAligner.from_pretrained(tiny_bert), batch_size=4
    )


@pytest.fixture(scope="session")
def tiny_export(labeler, tmp_path_factory) -> str:
    """The `labeler` fixture's model as an export folder (built in seconds, no training)."""
    directory = str(tmp_path_factory.mktemp("tiny_export") / "export")
    return write_export(labeler.model, labeler.aligner, directory, "# tiny test export\n")


@pytest.fixture(scope="session")
def srl_eval_pl() -> str:
    """allennlp-models' `srl-eval.pl` (the AllenNLP environment only)."""
    import allennlp_models

    found = glob.glob(
        os.path.join(os.path.dirname(allennlp_models.__file__), "**", "srl-eval.pl"), recursive=True
    )
    assert found, "allennlp-models ships no srl-eval.pl"
    return found[0]
