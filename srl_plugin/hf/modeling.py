"""
`BertForSemanticRoleLabeling`: BERT SRL (Shi & Lin, 2019) as a transformers model.

The weights carry `BertForTokenClassification`'s names (`bert.*`, `classifier.*`), so an export
also loads with that class; the predicate-identification head (`predicate_classifier.*`) is the
one extra weight, read only by this class.
"""

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import torch
from torch import nn
from transformers import BertConfig, BertModel, BertPreTrainedModel
from transformers.utils import ModelOutput

from srl_plugin.hf.decoding import bio_transition_constraints, viterbi_decode_bio
from srl_plugin.hf.labels import PREDICATE_LABELS


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
    """

    loss: Optional[torch.Tensor] = None
    logits: Optional[torch.Tensor] = None
    predicate_logits: Optional[torch.Tensor] = None
    hidden_states: Optional[Tuple[torch.FloatTensor, ...]] = None
    attentions: Optional[Tuple[torch.FloatTensor, ...]] = None


class BertForSemanticRoleLabeling(BertPreTrainedModel):
    """
    BERT with a linear BIO tagger over wordpieces; the predicate is marked by `token_type_ids`
    (1 on the predicate's wordpieces). `config.id2label` holds the BIO tags.

    A second linear head, `predicate_classifier`, finds predicates in a sentence fed with all-zero
    `token_type_ids`, so raw sentences need no external predicate finder. It is created when
    `config.srl_predicate_head` is true (the default).
    """

    config_class = BertConfig
    _keys_to_ignore_on_load_unexpected = [r"pooler", r"cls\."]
    _keys_to_ignore_on_load_missing = [r"position_ids"]

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        dropout = getattr(config, "classifier_dropout", None)
        self.dropout = nn.Dropout(config.hidden_dropout_prob if dropout is None else dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        if getattr(config, "srl_predicate_head", True):
            self.predicate_classifier: Optional[nn.Linear] = nn.Linear(
                config.hidden_size, len(PREDICATE_LABELS)
            )
        else:
            self.predicate_classifier = None
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        # The heads start as allennlp-models' SrlBert's projection does (torch's Linear default),
        # not BERT's N(0, 0.02): that learns far faster early on (benchmarks/README.md).
        if module is getattr(self, "classifier", None) or module is getattr(
            self, "predicate_classifier", None
        ):
            module.reset_parameters()
        else:
            super()._init_weights(module)

    def forward(
        self,
        input_ids: Optional[torch.Tensor] = None,
        attention_mask: Optional[torch.Tensor] = None,
        token_type_ids: Optional[torch.Tensor] = None,
        labels: Optional[torch.Tensor] = None,
        predicate_labels: Optional[torch.Tensor] = None,
        output_hidden_states: Optional[bool] = None,
        output_attentions: Optional[bool] = None,
        return_dict: Optional[bool] = None,
    ) -> SemanticRoleLabelingOutput:
        """
        `labels` (BIO ids) and `predicate_labels` (ids of `PREDICATE_LABELS`) use -100 for
        positions that carry no loss, as in transformers' token classification models.
        """
        encoded = self.bert(
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            output_hidden_states=output_hidden_states,
            output_attentions=output_attentions,
        )
        # Shape: (batch_size, num_wordpieces, hidden_size)
        sequence_output = self.dropout(encoded[0])
        # Shape: (batch_size, num_wordpieces, num_labels)
        logits = self.classifier(sequence_output)
        predicate_logits = None
        if self.predicate_classifier is not None:
            # Shape: (batch_size, num_wordpieces, 3)
            predicate_logits = self.predicate_classifier(sequence_output)
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
        return SemanticRoleLabelingOutput(
            loss=loss,
            logits=logits,
            predicate_logits=predicate_logits,
            hidden_states=getattr(encoded, "hidden_states", None),
            attentions=getattr(encoded, "attentions", None),
        )

    def bio_constraints(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """The transition and start constraints for `config.id2label`, cached."""
        labels = self.labels
        cached = getattr(self, "_bio_constraints", None)
        if cached is None or cached[0] != labels:
            cached = (labels, bio_transition_constraints(labels))
            self._bio_constraints = cached
        return cached[1]

    @property
    def labels(self) -> List[str]:
        return [self.config.id2label[i] for i in range(self.config.num_labels)]

    def decode(self, logits: torch.Tensor, lengths: Sequence[int]) -> List[List[int]]:
        """
        BIO-constrained Viterbi over wordpieces, identical to allennlp-models' `SrlBert`.

        # Parameters

        logits : `torch.Tensor`
            Shape `(batch_size, num_wordpieces, num_labels)`, from `forward`.
        lengths : `Sequence[int]`
            Unpadded wordpiece counts (with `[CLS]` and `[SEP]`).

        # Returns

        The label ids of each sequence's wordpieces.
        """
        transitions, start_transitions = self.bio_constraints()
        # Shape: (batch_size, num_wordpieces, num_labels)
        probabilities = torch.softmax(logits.float(), dim=-1)
        return viterbi_decode_bio(probabilities, lengths, transitions, start_transitions)
