"""
The Hugging Face side of srl_plugin: loading exports, labelling raw sentences, decoding. Nothing
under this package imports AllenNLP.
"""

from srl_plugin.hf.checkpoints.export import load_pretrained_srl_model, read_export, write_export
from srl_plugin.hf.decoding import bio_transition_constraints, viterbi_decode_bio
from srl_plugin.hf.labeler import SemanticRoleLabeler
from srl_plugin.hf.modeling import (
    AlbertForSemanticRoleLabeling,
    AutoModelForSemanticRoleLabeling,
    BertForSemanticRoleLabeling,
    DebertaV2ForSemanticRoleLabeling,
    ElectraForSemanticRoleLabeling,
    RobertaForSemanticRoleLabeling,
    SemanticRoleLabelingOutput,
    XLMRobertaForSemanticRoleLabeling,
)
from srl_plugin.hf.tokenization import SubwordAligner, WordPieceAligner, aligner_from_pretrained
from srl_plugin.hf.words import split_words

try:  # The `semantic-role-labeling` pipeline task, where transformers has custom pipelines.
    from srl_plugin.hf import pipeline as _pipeline  # noqa: F401
except ImportError:
    pass

__all__ = [
    "AlbertForSemanticRoleLabeling",
    "AutoModelForSemanticRoleLabeling",
    "BertForSemanticRoleLabeling",
    "DebertaV2ForSemanticRoleLabeling",
    "ElectraForSemanticRoleLabeling",
    "RobertaForSemanticRoleLabeling",
    "SubwordAligner",
    "XLMRobertaForSemanticRoleLabeling",
    "aligner_from_pretrained",
    "SemanticRoleLabeler",
    "SemanticRoleLabelingOutput",
    "WordPieceAligner",
    "bio_transition_constraints",
    "load_pretrained_srl_model",
    "read_export",
    "write_export",
    "split_words",
    "viterbi_decode_bio",
]
