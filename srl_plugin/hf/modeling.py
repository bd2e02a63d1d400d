"""
The SRL model (Shi & Lin, 2019) as a transformers model, one class per encoder family:
`BertForSemanticRoleLabeling`, `RobertaForSemanticRoleLabeling`,
`XLMRobertaForSemanticRoleLabeling`, `DebertaV2ForSemanticRoleLabeling`,
`ElectraForSemanticRoleLabeling` and `AlbertForSemanticRoleLabeling` (`srl_plugin.hf.families`).

The weights carry the family's `*ForTokenClassification` names (`bert.*` / `roberta.*` /
`deberta.*` / `electra.*` / `albert.*`, and `classifier.*`), so an export also loads with
`AutoModelForTokenClassification`; the predicate-identification head (`predicate_classifier.*`)
and the sense head (`sense_classifier.*`, where the config lists `srl_rolesets`) are the extra
weights, read only by these classes.

The predicate is marked with `token_type_ids` (1 on its sub-words), as in allennlp-models'
`SrlBert`. Encoders with fewer than two token types (RoBERTa and XLM-R have one, DeBERTa-v3 none)
get a second row (`srl_plugin.hf.checkpoints.building`), so a stock token-classification class
with `type_vocab_size=2` computes exactly what this model does.

The model's SRL settings come from its config (`srl_plugin.hf.config`); the fused-inference API
(`encode_sentences`, `label_shared`, ...) is in `srl_plugin.hf.fusion`, the tagger's output path
(logits to word tags) in `srl_plugin.hf.tagging`, the predicate head's in
`srl_plugin.hf.predicates`.
"""

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Type

import torch
import transformers
from torch import nn
from transformers import (
    AlbertPreTrainedModel,
    BertPreTrainedModel,
    DebertaV2PreTrainedModel,
    ElectraPreTrainedModel,
    PretrainedConfig,
    PreTrainedModel,
    RobertaPreTrainedModel,
    XLMRobertaConfig,
)
from transformers.utils import ModelOutput

from srl_plugin.hf import compat  # noqa: F401  (patches old transformers releases on import)
from srl_plugin.hf.config import config_labels, config_rolesets, srl_settings
from srl_plugin.hf.families import FAMILIES, Family, family
from srl_plugin.hf.fusion import (
    FUSION_FAMILIES,
    fused_encoding,
    predicate_vectors,
    with_predicate_pair,
)
from srl_plugin.hf.labels import PREDICATE_LABELS
from srl_plugin.hf.tagging import decode_tags
from srl_plugin.hf.checkpoints.weights import from_pretrained_reading_safetensors


@dataclass
class SemanticRoleLabelingOutput(ModelOutput):
    """
    # Parameters

    loss : `torch.FloatTensor`, optional
        SRL cross entropy over wordpieces, plus the predicate loss when predicate labels are given.
    logits : `torch.FloatTensor`
        Shape `(batch_size, num_wordpieces, num_labels)`: BIO tag scores, as
        `BertForTokenClassification` returns them.
    predicate_logits : `torch.FloatTensor`, optional
        Shape `(batch_size, num_wordpieces, 3)`: scores of `PREDICATE_LABELS` (`O`, `B-V`, `I-V`)
        for each word's first wordpiece, read on inputs without a predicate indicator.
    sense_logits : `torch.FloatTensor`, optional
        Shape `(batch_size, num_rolesets)`: scores of the model's `rolesets` for each frame's
        predicate (read at its first sub-word); `None` without a sense head.
    """

    loss: Optional[torch.Tensor] = None
    logits: Optional[torch.Tensor] = None
    predicate_logits: Optional[torch.Tensor] = None
    sense_logits: Optional[torch.Tensor] = None
    hidden_states: Optional[Tuple[torch.FloatTensor, ...]] = None
    attentions: Optional[Tuple[torch.FloatTensor, ...]] = None


class SemanticRoleLabelingMixin:
    """
    An encoder with a linear BIO tagger over sub-words; the predicate is marked by
    `token_type_ids` (1 on the predicate's sub-words). `config.id2label` holds the BIO tags.

    A second linear head, `predicate_classifier`, finds predicates in a sentence fed with all-zero
    `token_type_ids`, so raw sentences need no external predicate finder. It is created when
    the config's `srl_predicate_head` is true (the default).

    `srl_predicate_fusion_layer` (default 0: the marker enters at the input, as in `SrlBert`)
    moves the marker to that encoder layer: the layers below it run once per sentence and are
    shared by its predicates (`srl_plugin.hf.fusion`); the marker is the learned vector
    `predicate_marker`, and the predicate head reads the shared encoding. Such a model is no
    longer reproduced by a stock `*ForTokenClassification` class.

    A third linear head, `sense_classifier`, scores the PropBank rolesets of the config's
    `srl_rolesets` (`have.01`, `have.03`, ...) for each frame's predicate (`sense_logits`;
    decoded by `srl_plugin.hf.senses.SenseDecoder`). It reads what the tagger reads, before the
    pair projection, at the predicate's first sub-word: the marked encoder's output, or with
    fusion the top of the layers above the marker, so the senses come from the frame's own pass.
    Without `srl_rolesets` there is none (`sense_classifier` is `None`).

    Mixed into each family's `PreTrainedModel`; `family` says which encoder.
    """

    family: Family
    base_model_prefix: str
    config: PretrainedConfig
    # Pre-training heads and poolers of base checkpoints are not part of the SRL model.
    _keys_to_ignore_on_load_unexpected = [
        r"pooler", r"cls\.", r"lm_head", r"lm_predictions", r"mask_predictions",
        r"discriminator_predictions", r"generator", r"predictions\.", r"sop_classifier",
    ]  # fmt: skip
    _keys_to_ignore_on_load_missing = [r"position_ids"]

    def __init__(self, config: PretrainedConfig) -> None:
        super().__init__(config)  # type: ignore[call-arg]
        self.num_labels = config.num_labels
        encoder_class = getattr(transformers, self.family.encoder)
        if self.family.pooler_argument:
            encoder = encoder_class(config, add_pooling_layer=False)
        else:
            encoder = encoder_class(config)
        # `self.bert`, `self.roberta`, ...: the names of the family's token classification model.
        setattr(self, self.base_model_prefix, encoder)
        dropout = getattr(config, "classifier_dropout", None)
        self.dropout = nn.Dropout(config.hidden_dropout_prob if dropout is None else dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        settings = srl_settings(config)
        self.predicate_fusion_layer = settings.predicate_fusion_layer
        if self.predicate_fusion_layer:
            if not 0 < self.predicate_fusion_layer < config.num_hidden_layers:
                raise ValueError(
                    f"predicate_fusion_layer must be between 0 and "
                    f"{config.num_hidden_layers - 1} (the encoder has {config.num_hidden_layers} "
                    f"layers), not {self.predicate_fusion_layer}"
                )
            if self.family.model_type not in FUSION_FAMILIES:
                raise ValueError(
                    f"predicate_fusion_layer > 0 is supported for {', '.join(FUSION_FAMILIES)} "
                    f"encoders, not {self.family.model_type}"
                )
            # Set from the token-type embeddings by `fusion.init_predicate_marker` when
            # training starts.
            self.predicate_marker = nn.Parameter(torch.zeros(config.hidden_size))
            # Every wordpiece's offset from the predicate (clipped to +-radius), added with the
            # marker: one layer above cannot tell left from right of the predicate otherwise.
            radius = settings.predicate_distance_radius
            self.predicate_distance: Optional[nn.Embedding] = (
                nn.Embedding(2 * radius + 1, config.hidden_size) if radius > 0 else None
            )
        # Tags read each sub-word with its frame's predicate (`predicate_pair_head`), or alone.
        self.pair_projection: Optional[nn.Linear] = (
            nn.Linear(3 * config.hidden_size, config.hidden_size)
            if settings.predicate_pair_head
            else None
        )
        self.predicate_classifier: Optional[nn.Linear] = (
            nn.Linear(config.hidden_size, len(PREDICATE_LABELS))
            if settings.predicate_head
            else None
        )
        # Its construction leaves torch's generator as it was, and `post_init` initializes it
        # last, so that every other weight is drawn as in a model without it.
        rolesets = config_rolesets(config)
        self.sense_classifier: Optional[nn.Linear] = None
        if rolesets:
            with torch.random.fork_rng(devices=[]):
                self.sense_classifier = nn.Linear(config.hidden_size, len(rolesets))
        self.post_init()  # type: ignore[attr-defined]

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: Any, *args: Any, **kwargs: Any) -> Any:
        """
        transformers' `from_pretrained`; where transformers cannot read `model.safetensors`
        itself (before 4.23, e.g. the AllenNLP environment's 4.20), an export folder's weights
        are read here with the safetensors library and handed over as `state_dict`.
        """
        return from_pretrained_reading_safetensors(
            super().from_pretrained,  # type: ignore[misc]
            cls.config_class,  # type: ignore[attr-defined]
            pretrained_model_name_or_path,
            *args,
            **kwargs,
        )

    def _init_weights(self, module: nn.Module) -> None:
        # The heads start as allennlp-models' SrlBert's projection does (torch's Linear default),
        # not BERT's N(0, 0.02): that learns far faster early on (benchmarks/README.md).
        heads = ("classifier", "predicate_classifier", "sense_classifier")
        if any(module is getattr(self, head, None) for head in heads):
            module.reset_parameters()  # type: ignore[operator]
        else:
            super()._init_weights(module)  # type: ignore[misc]

    def forward(
        self,
        input_ids: Optional[torch.Tensor] = None,
        attention_mask: Optional[torch.Tensor] = None,
        token_type_ids: Optional[torch.Tensor] = None,
        labels: Optional[torch.Tensor] = None,
        predicate_labels: Optional[torch.Tensor] = None,
        sense_labels: Optional[torch.Tensor] = None,
        output_hidden_states: Optional[bool] = None,
        output_attentions: Optional[bool] = None,
        return_dict: Optional[bool] = None,
    ) -> SemanticRoleLabelingOutput:
        """
        `labels` (BIO ids) and `predicate_labels` (ids of `PREDICATE_LABELS`) use -100 for
        positions that carry no loss, as in transformers' token classification models;
        `sense_labels` (shape `(batch_size,)`, row ids of `rolesets`) -100 for frames without a
        roleset. Each given loss is added to the total (where the model has its head).
        """
        hidden_states = attentions = None
        if self.predicate_fusion_layer:
            if output_hidden_states or output_attentions:
                raise ValueError("hidden states and attentions are not returned with fusion")
            encoded, shared = fused_encoding(
                self.base_model,  # type: ignore[attr-defined]
                self.predicate_marker,
                input_ids,
                attention_mask,
                token_type_ids,
                self.predicate_fusion_layer,
                self.predicate_distance,
            )
            # Shape: (batch_size, num_wordpieces, hidden_size)
            sequence_output = self.dropout(encoded)
            predicate_input = self.dropout(shared)
        else:
            output = self.base_model(  # type: ignore[attr-defined]
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=token_type_ids,
                output_hidden_states=output_hidden_states,
                output_attentions=output_attentions,
            )
            hidden_states = getattr(output, "hidden_states", None)
            attentions = getattr(output, "attentions", None)
            # Shape: (batch_size, num_wordpieces, hidden_size)
            sequence_output = predicate_input = self.dropout(output[0])
        # Shape: (batch_size, num_wordpieces, num_labels)
        logits = self.tag_logits(sequence_output, token_type_ids)
        # Shape: (batch_size, num_rolesets)
        sense_logits = self.sense_logits(sequence_output, token_type_ids)
        predicate_logits = None
        if self.predicate_classifier is not None:
            # Shape: (batch_size, num_wordpieces, 3)
            predicate_logits = self.predicate_classifier(predicate_input)
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(
                logits.reshape(-1, self.num_labels).float(), labels.reshape(-1)
            )
        if predicate_labels is not None and predicate_logits is not None:
            predicate_loss = nn.functional.cross_entropy(
                predicate_logits.reshape(-1, len(PREDICATE_LABELS)).float(),
                predicate_labels.reshape(-1),
            )
            loss = predicate_loss if loss is None else loss + predicate_loss
        if sense_labels is not None and sense_logits is not None:
            sense_loss = sense_cross_entropy(sense_logits, sense_labels)
            loss = sense_loss if loss is None else loss + sense_loss
        return SemanticRoleLabelingOutput(
            loss=loss,
            logits=logits,
            predicate_logits=predicate_logits,
            sense_logits=sense_logits,
            hidden_states=hidden_states,
            attentions=attentions,
        )

    def tag_logits(
        self, hidden: torch.Tensor, token_type_ids: Optional[torch.Tensor]
    ) -> torch.Tensor:
        """
        BIO logits `(batch_size, num_wordpieces, num_labels)` of the encoder's output (after
        dropout); with `pair_projection`, each sub-word is read with its frame's predicate.
        """
        if self.pair_projection is not None:
            if token_type_ids is None:
                raise ValueError("predicate_pair_head needs token_type_ids (the predicate)")
            hidden = with_predicate_pair(hidden, token_type_ids, self.pair_projection)
        return self.classifier(hidden)

    def sense_logits(
        self, hidden: torch.Tensor, token_type_ids: Optional[torch.Tensor]
    ) -> Optional[torch.Tensor]:
        """
        The sense head's scores `(batch_size, num_rolesets)` of the encoder's output (after
        dropout, before any pair projection) at each frame's first predicate sub-word (the first
        `token_type_ids == 1`; position 0 in a row without one); `None` without a sense head.
        """
        if self.sense_classifier is None:
            return None
        return self.sense_classifier(predicate_vectors(hidden, token_type_ids))

    @property
    def rolesets(self) -> List[str]:
        """The roleset of each row of the sense head (`srl_rolesets`); `[]` without one."""
        return config_rolesets(self.config) if self.sense_classifier is not None else []

    @property
    def labels(self) -> List[str]:
        """The BIO tag of each label id (`config.id2label`)."""
        return config_labels(self.config)

    def decode(self, logits: torch.Tensor, lengths: Sequence[int]) -> List[List[int]]:
        """
        BIO-constrained Viterbi over wordpieces, identical to allennlp-models' `SrlBert`
        (`srl_plugin.hf.tagging.decode_tags`): the label ids of each sequence's first `lengths[i]`
        sub-words, from logits of shape `(batch_size, num_wordpieces, num_labels)`.
        """
        return decode_tags(logits, lengths, self.labels)


def sense_cross_entropy(sense_logits: torch.Tensor, sense_labels: torch.Tensor) -> torch.Tensor:
    """
    The mean cross entropy over the frames with a roleset (`sense_labels` not -100), 0 (not
    NaN) for a batch without any.
    """
    labels = sense_labels.reshape(-1)
    total = nn.functional.cross_entropy(sense_logits.float(), labels, reduction="sum")
    return total / (labels != -100).sum().clamp(min=1)


class BertForSemanticRoleLabeling(SemanticRoleLabelingMixin, BertPreTrainedModel):
    """SRL on `BertModel` (`self.bert`); the class of allennlp-models' `srl_bert` conversions."""

    family = FAMILIES["bert"]


class RobertaForSemanticRoleLabeling(SemanticRoleLabelingMixin, RobertaPreTrainedModel):
    """SRL on `RobertaModel` (`self.roberta`)."""

    family = FAMILIES["roberta"]


class XLMRobertaForSemanticRoleLabeling(SemanticRoleLabelingMixin, RobertaPreTrainedModel):
    """SRL on `XLMRobertaModel` (`self.roberta`)."""

    family = FAMILIES["xlm-roberta"]
    config_class = XLMRobertaConfig


class DebertaV2ForSemanticRoleLabeling(SemanticRoleLabelingMixin, DebertaV2PreTrainedModel):
    """SRL on `DebertaV2Model` (`self.deberta`): DeBERTa-v2 and DeBERTa-v3."""

    family = FAMILIES["deberta-v2"]


class ElectraForSemanticRoleLabeling(SemanticRoleLabelingMixin, ElectraPreTrainedModel):
    """SRL on `ElectraModel` (`self.electra`), the discriminator of ELECTRA checkpoints."""

    family = FAMILIES["electra"]


class AlbertForSemanticRoleLabeling(SemanticRoleLabelingMixin, AlbertPreTrainedModel):
    """SRL on `AlbertModel` (`self.albert`)."""

    family = FAMILIES["albert"]


SRL_CLASSES: Dict[str, Type[PreTrainedModel]] = {
    cls.family.model_type: cls
    for cls in (
        BertForSemanticRoleLabeling,
        RobertaForSemanticRoleLabeling,
        XLMRobertaForSemanticRoleLabeling,
        DebertaV2ForSemanticRoleLabeling,
        ElectraForSemanticRoleLabeling,
        AlbertForSemanticRoleLabeling,
    )
}
assert set(SRL_CLASSES) == set(FAMILIES), "every family in families.py has its class here"


def srl_class(config: PretrainedConfig, source: str = "the checkpoint") -> Type[PreTrainedModel]:
    """The SRL class of `config`'s family; `ValueError` naming an unsupported `model_type`."""
    return SRL_CLASSES[family(getattr(config, "model_type", None), source).model_type]


class AutoModelForSemanticRoleLabeling:
    """`from_pretrained` picks the family's SRL class from the folder's `config.json`."""

    @classmethod
    def from_pretrained(cls, path: str, *args: Any, **kwargs: Any) -> PreTrainedModel:
        config = kwargs.pop("config", None)
        if not isinstance(config, PretrainedConfig):
            config = transformers.AutoConfig.from_pretrained(path)
        return srl_class(config, path).from_pretrained(path, *args, config=config, **kwargs)
