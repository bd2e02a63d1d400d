"""
The encoder families an SRL model can start from, in one table: what each is called in
`config.json` (`model_type`), where its encoder lives in a token-classification model, and the
special tokens its tokenizer puts around a sentence.

BERT keeps allennlp-models' word-by-word WordPiece split (`WordPieceAligner`); every other family
splits words with its own `tokenizer.json` (`SubwordAligner`).
"""

from dataclasses import dataclass
from typing import Dict, Optional


@dataclass(frozen=True)
class Family:
    """
    # Parameters

    model_type : `str`
        `config.json`'s `model_type`.
    prefix : `str`
        The encoder's attribute (and weight-name prefix) in transformers' `*ForTokenClassification`.
    encoder : `str`
        The transformers encoder class; `pretrained` its `PreTrainedModel` base.
    srl_class : `str`
        This plugin's SRL class for the family, written to `config.architectures`.
    pooler_argument : `bool`
        Whether the encoder takes `add_pooling_layer` (the SRL model never uses a pooler).
    cls_token, sep_token, pad_token, unk_token : `str`
        The tokenizer's special tokens when its configuration does not name them.
    """

    model_type: str
    prefix: str
    encoder: str
    pretrained: str
    config: str
    srl_class: str
    pooler_argument: bool
    cls_token: str
    sep_token: str
    pad_token: str
    unk_token: str


FAMILIES: Dict[str, Family] = {
    family.model_type: family
    for family in (
        Family(
            "bert", "bert", "BertModel", "BertPreTrainedModel", "BertConfig",
            "BertForSemanticRoleLabeling", True, "[CLS]", "[SEP]", "[PAD]", "[UNK]",
        ),
        Family(
            "roberta", "roberta", "RobertaModel", "RobertaPreTrainedModel", "RobertaConfig",
            "RobertaForSemanticRoleLabeling", True, "<s>", "</s>", "<pad>", "<unk>",
        ),
        Family(
            "xlm-roberta", "roberta", "XLMRobertaModel", "RobertaPreTrainedModel",
            "XLMRobertaConfig", "XLMRobertaForSemanticRoleLabeling", True, "<s>", "</s>",
            "<pad>", "<unk>",
        ),
        Family(
            "deberta-v2", "deberta", "DebertaV2Model", "DebertaV2PreTrainedModel",
            "DebertaV2Config", "DebertaV2ForSemanticRoleLabeling", False, "[CLS]", "[SEP]",
            "[PAD]", "[UNK]",
        ),
        Family(
            "electra", "electra", "ElectraModel", "ElectraPreTrainedModel", "ElectraConfig",
            "ElectraForSemanticRoleLabeling", False, "[CLS]", "[SEP]", "[PAD]", "[UNK]",
        ),
        Family(
            "albert", "albert", "AlbertModel", "AlbertPreTrainedModel", "AlbertConfig",
            "AlbertForSemanticRoleLabeling", True, "[CLS]", "[SEP]", "<pad>", "<unk>",
        ),
    )
}  # fmt: skip


def family(model_type: Optional[str], source: str = "the checkpoint") -> Family:
    """
    The family of `model_type`.

    # Raises

    `ValueError` naming the model type and the supported families.
    """
    if model_type in FAMILIES:
        return FAMILIES[model_type]
    raise ValueError(
        f"{source} is a {model_type!r} model; SRL can start from these encoder families only: "
        f"{', '.join(FAMILIES)} (config.json's model_type)"
    )


def read_family(directory: str) -> Family:
    """The family of a checkpoint folder, from its `config.json`'s `model_type`."""
    from srl_plugin.hf.config import read_config_json

    try:
        config = read_config_json(directory)
    except OSError as error:
        raise ValueError(f"{directory}: unreadable config.json ({error})") from None
    return family(config["model_type"], directory)
