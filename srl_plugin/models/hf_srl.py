"""
`hf_srl`: SRL (Shi & Lin, 2019; allennlp-models' `SrlBert`) whose encoder and heads are a
transformers model of the checkpoint's family (`BertForSemanticRoleLabeling`,
`RobertaForSemanticRoleLabeling`, ...), so its weights already carry Hugging Face names.
"""

import logging
import os
from typing import Any, Dict, List, Optional

import torch
from allennlp.common import Params
from allennlp.data import TextFieldTensors, Vocabulary
from allennlp.models import Model
from allennlp.nn.util import get_mask_from_sequence_lengths, sequence_cross_entropy_with_logits
from transformers import PreTrainedModel

from srl_plugin.archives.files import ROLESETS_NAMESPACE
from srl_plugin.archives.resolution import embedded_export, resolve_checkpoint
from srl_plugin.hf.checkpoints.building import with_predicate_marker
from srl_plugin.hf.checkpoints.weights import load_torch_weights
from srl_plugin.hf.config import (
    DEFAULT_DISTANCE_RADIUS,
    SrlSettings,
    set_labels,
    set_rolesets,
    set_srl_settings,
)
from srl_plugin.hf.modeling import sense_cross_entropy, srl_class
from srl_plugin.hf.predicates import PredicateLabels
from srl_plugin.hf.senses import Sense, SenseDecoder
from srl_plugin.hf.tagging import tag_frames
from srl_plugin.metrics.predicate_f1 import PredicateF1
from srl_plugin.metrics.predicate_sense import (
    SENSE_ACCURACY,
    FrameSense,
    PredicateSense,
    SentencePredicates,
)
from srl_plugin.metrics.srl_span_f1 import SrlSpanF1

logger = logging.getLogger(__name__)


@Model.register("hf_srl")
class HfSrlModel(Model):
    """
    # Parameters

    vocab : `Vocabulary`
        Its `labels` namespace holds the BIO tags, its `roleset_labels` namespace (filled by the
        `hf_srl` reader from data with rolesets) the sense head's rolesets.
    bert_model : `str`
        A Hugging Face checkpoint folder (`model.safetensors` or `pytorch_model.bin`) of a
        supported encoder family (BERT, RoBERTa, XLM-RoBERTa, DeBERTa-v2/v3, ELECTRA, ALBERT), or
        an export of this plugin (its classifier rows are kept for tags it already knows).
    classifier_dropout : `float`, optional
        Dropout on the encoder's output before the heads; default the checkpoint's
        `hidden_dropout_prob` (0.1 for BERT), as `BertForTokenClassification` does.
    label_smoothing : `float`, optional
        Label smoothing of the SRL loss, as in `SrlBert`.
    predicate_head : `bool`, optional (default = `True`)
        Train the predicate-identification head on the reader's predicate instances.
    predicate_fusion_layer : `int`, optional (default = `0`)
        The encoder layer where the predicate marker enters. 0 marks the predicate at the input
        (`token_type_ids`, as `SrlBert`). With `f > 0` the first `f` layers run once per
        sentence and are shared by its predicates (a learned marker vector is added at layer
        `f`), and the predicate head reads that shared encoding: several times faster on raw
        text (BERT, RoBERTa, XLM-R and ELECTRA encoders). The export then needs the plugin's
        class (a stock token-classification class cannot run it). Recorded in the export's
        `config.json`.
    predicate_distance_radius : `int`, optional (default = `16`)
        With `predicate_fusion_layer > 0`: every wordpiece also gets a learned embedding of its
        offset from the predicate (offsets beyond +-radius share the last), added with the
        marker; 0 leaves it out. Recorded in the export's `config.json`.
    predicate_pair_head : `bool`, optional (default = on with `predicate_fusion_layer > 0`)
        Tag each wordpiece from its encoding read together with the predicate's (`[h; p; h * p]`
        through a linear layer and GELU, added to `h`) rather than from its own alone: with one
        or two layers after the marker, this makes up for the layers that no longer see it.
        Recorded in the export's `config.json`; a stock token-classification class cannot run
        it (off by default at fusion layer 0, which stays `SrlBert`'s model).
    sense_head : `bool`, optional (default = on when the vocabulary has rolesets)
        Train a sense head (`sense_classifier`), jointly with the tagger and the predicate head,
        which picks each frame's PropBank roleset (`have.03`) among the `roleset_labels` of the
        vocabulary (its rows, in index order, recorded as the export's `srl_rolesets`). It
        reads the tagger's input at the predicate's first sub-word, so it costs one small
        matrix product per frame. `False` leaves it out (today's model, whatever the data);
        `True` on data without rolesets is an error.
    sense_loss_weight : `float`, optional (default = `0.1`)
        The sense loss's weight in the training loss (the tagger's and the predicate head's
        weigh 1). A cross entropy over thousands of rolesets stays large long after the tagger's
        has fallen; at weight 1 its gradient steers the shared encoder and costs argument F1
        (EWT dev at the demo budget: 0.163 against 0.458 without the head). Adam scales each
        parameter's step by its own gradients, so a smaller weight takes the sense head's share
        of the encoder's updates down without slowing the head itself.
    load_weights : `bool`, optional (default = `True`)
        Read the checkpoint's weights. Archive loading sets this to `False`: the weights come from
        `weights.th` and the configuration from the export inside the archive.
    """

    default_predictor = "hf_srl"

    def __init__(
        self,
        vocab: Vocabulary,
        bert_model: str,
        classifier_dropout: Optional[float] = None,
        label_smoothing: Optional[float] = None,
        predicate_head: bool = True,
        predicate_fusion_layer: int = 0,
        predicate_distance_radius: int = DEFAULT_DISTANCE_RADIUS,
        predicate_pair_head: Optional[bool] = None,
        sense_head: Optional[bool] = None,
        sense_loss_weight: float = 0.1,
        load_weights: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(vocab, **kwargs)
        labels = [
            vocab.get_token_from_index(i, "labels") for i in range(vocab.get_vocab_size("labels"))
        ]
        settings = SrlSettings.options(
            predicate_head, predicate_fusion_layer, predicate_distance_radius, predicate_pair_head
        )
        rolesets = vocabulary_rolesets(vocab) if sense_head is not False else []
        if sense_head and not rolesets:
            raise ValueError(
                f"sense_head is true but the vocabulary has no rolesets (its {ROLESETS_NAMESPACE} "
                "namespace is empty): the training data has no roleset column (CoNLL-2012 "
                "column 8 is '-'), or the reader's senses option is off"
            )
        if load_weights:
            checkpoint = resolve_checkpoint(bert_model)
            hf_model = checkpoint.srl_model(labels, settings, rolesets)
        else:
            checkpoint = resolve_checkpoint(bert_model, self.serialization_dir)
            config = with_predicate_marker(checkpoint.encoder_config())
            set_labels(config, labels)
            set_srl_settings(config, settings)
            set_rolesets(config, rolesets)
            hf_model = srl_class(config, checkpoint.source)(config)
        if classifier_dropout is not None:
            hf_model.config.classifier_dropout = classifier_dropout
            hf_model.dropout.p = classifier_dropout
        self.aligner = checkpoint.aligner
        self.base_checkpoint = bert_model
        # The transformers model's modules become this model's, so `weights.th` holds Hugging
        # Face names (bert.* or roberta.* ..., classifier.*); the wrapper itself is kept out of
        # the module tree.
        for name, module in hf_model.named_children():
            self.add_module(name, module)
        for name, parameter in hf_model.named_parameters(recurse=False):
            self.register_parameter(name, parameter)  # the fused predicate marker
        self._hf_model = [hf_model]
        self._label_smoothing = label_smoothing
        self._sense_loss_weight = sense_loss_weight
        self.span_metric = SrlSpanF1()
        self.predicate_metric = PredicateF1()
        self.sense_metric = PredicateSense()

    @property
    def hf_model(self) -> PreTrainedModel:
        """The transformers model, sharing this model's weights (e.g. for `save_pretrained`)."""
        return self._hf_model[0]

    def forward(  # type: ignore
        self,
        tokens: TextFieldTensors,
        verb_indicator: torch.LongTensor,
        metadata: List[Dict[str, Any]],
        tags: Optional[torch.LongTensor] = None,
        predicate_labels: Optional[torch.LongTensor] = None,
        sense_labels: Optional[torch.LongTensor] = None,
    ) -> Dict[str, Any]:
        """
        # Parameters

        tokens : `TextFieldTensors`
            Wordpiece ids from the `hf_srl` reader.
        verb_indicator : `torch.LongTensor`
            Shape `(batch_size, num_wordpieces)`: 1 on the predicate's wordpieces (all 0 for
            predicate-identification instances).
        metadata : `List[Dict[str, Any]]`
            Words, predicate, `frame` (the `WordpieceFrame`: ids, alignment, window) and
            `is_frame` of each instance.
        tags : `torch.LongTensor`, optional
            Shape `(batch_size, num_wordpieces)`: gold BIO tag ids.
        predicate_labels : `torch.LongTensor`, optional
            Shape `(batch_size, num_wordpieces)`: gold predicate labels (-100 where none).
        sense_labels : `torch.LongTensor`, optional
            Shape `(batch_size,)`: each frame's gold roleset id in `roleset_labels` (-100 where
            none: predicate-identification instances, frames without a roleset).

        # Returns

        `logits` and `class_probabilities` (shape `(batch_size, num_wordpieces, num_labels)`),
        `mask`, with the heads `predicate_logits` and `sense_logits` (shape `(batch_size,
        num_rolesets)`), and, with gold tags, `loss`.
        """
        input_ids = tokens["tokens"]["tokens"]
        lengths = torch.tensor([m["num_wordpieces"] for m in metadata], device=input_ids.device)
        # The reader's ids are exact; lengths give the mask. Padding becomes the tokenizer's pad
        # id, as in the labeler: RoBERTa numbers positions by counting non-pad ids.
        mask = get_mask_from_sequence_lengths(lengths, input_ids.size(1))
        input_ids = input_ids.masked_fill(~mask, self.aligner.pad_id)
        output = self.hf_model(
            input_ids=input_ids, attention_mask=mask.long(), token_type_ids=verb_indicator
        )
        logits = output.logits
        # Shape: (batch_size, num_wordpieces, num_labels)
        class_probabilities = torch.softmax(logits.float(), dim=-1)
        output_dict: Dict[str, Any] = {
            "logits": logits,
            "class_probabilities": class_probabilities,
            "mask": mask,
            "metadata": metadata,
        }
        # Only the heads the model has: `forward_on_instances` cannot split a None per instance.
        if output.predicate_logits is not None:
            output_dict["predicate_logits"] = output.predicate_logits
        if output.sense_logits is not None:
            output_dict["sense_logits"] = output.sense_logits
        loss = None
        if tags is not None:
            is_frame = torch.tensor([m["is_frame"] for m in metadata], device=mask.device)
            loss = sequence_cross_entropy_with_logits(
                logits, tags, mask & is_frame.unsqueeze(1), label_smoothing=self._label_smoothing
            )
        if predicate_labels is not None and output.predicate_logits is not None:
            has_label = (predicate_labels != -100) & mask
            # Computed even for batches without labels (it is 0 then): under distributed training
            # every worker must give the predicate head a gradient, or DDP waits forever.
            predicate_loss = sequence_cross_entropy_with_logits(
                output.predicate_logits, predicate_labels.clamp(min=0), has_label
            )
            loss = predicate_loss if loss is None else loss + predicate_loss
        if sense_labels is not None and output.sense_logits is not None:
            # 0 (with a gradient) for a batch without rolesets, as the predicate loss.
            sense_loss = self._sense_loss_weight * sense_cross_entropy(
                output.sense_logits, sense_labels
            )
            loss = sense_loss if loss is None else loss + sense_loss
        if loss is not None:
            output_dict["loss"] = loss
        if tags is not None and not self.training:
            self._update_metrics(output_dict, metadata)
        return output_dict

    def _update_metrics(self, output_dict: Dict[str, Any], metadata: List[Dict[str, Any]]) -> None:
        decoded = self.make_output_human_readable(dict(output_dict))
        frames = [i for i, m in enumerate(metadata) if m["is_frame"]]
        self.span_metric(
            [metadata[i]["verb_index"] for i in frames],
            [metadata[i]["words"] for i in frames],
            [decoded["tags"][i] for i in frames],
            [metadata[i]["gold_tags"] for i in frames],
        )
        sentences = [i for i, m in enumerate(metadata) if m["gold_predicates"] is not None]
        if sentences and "predicates" in decoded:
            self.predicate_metric(
                [decoded["predicates"][i] for i in sentences],
                [metadata[i]["gold_predicates"] for i in sentences],
            )
        if "rolesets" in decoded:
            # A sentence's frames and its predicate-identification instance may be in different
            # batches: the metric joins them by the reader's `sentence_id`.
            self.sense_metric(
                frames=[
                    FrameSense(
                        metadata[i].get("sentence_id"),
                        metadata[i]["predicate_indices"],
                        decoded["rolesets"][i],
                        metadata[i].get("roleset"),
                    )
                    for i in frames
                    if metadata[i]["predicate_indices"]
                ],
                sentences=[
                    SentencePredicates(
                        metadata[i].get("sentence_id"),
                        decoded["predicates"][i],
                        metadata[i]["gold_predicates"],
                    )
                    for i in (sentences if "predicates" in decoded else [])
                ],
            )

    def make_output_human_readable(self, output_dict: Dict[str, Any]) -> Dict[str, Any]:
        """
        Adds `wordpiece_tags` and word-level `tags` (BIO-constrained Viterbi over wordpieces, a
        word's tag read at its first wordpiece, exactly as `SrlBert`); for
        predicate-identification instances, `predicate_tags` and `predicates`; with a sense head,
        each frame's `senses` (`srl_plugin.hf.senses.Sense`: roleset, name, score), `rolesets`
        and `sense_scores` (`None` for instances without a predicate), decoded as the labeler
        decodes raw text: among the rolesets of the predicate's lemmatized words.
        """
        metadata = output_dict["metadata"]
        frames = [meta["frame"] for meta in metadata]
        num_words = [len(meta["words"]) for meta in metadata]
        labels = self.hf_model.labels
        frame_tags = tag_frames(output_dict["logits"], frames, num_words, labels)
        output_dict["wordpiece_tags"] = [
            [labels[i] for i in tags.wordpiece_ids] for tags in frame_tags
        ]
        output_dict["tags"] = [tags.tags for tags in frame_tags]
        if output_dict.get("predicate_logits") is not None:
            found = PredicateLabels(num_words)
            found.add(output_dict["predicate_logits"], frames, range(len(frames)))
            output_dict["predicate_tags"] = found.tags()
            output_dict["predicates"] = found.predicates()
        decoder = SenseDecoder.of(self.hf_model)
        if decoder is not None and output_dict.get("sense_logits") is not None:
            senses: List[Optional[Sense]] = [None] * len(metadata)
            rows = [i for i, meta in enumerate(metadata) if meta["predicate_indices"]]
            if rows:
                decoded = decoder.decode(
                    output_dict["sense_logits"][rows], [metadata[i]["verb"] for i in rows]
                )
                for row, sense in zip(rows, decoded):
                    senses[row] = sense
            output_dict["senses"] = senses
            output_dict["rolesets"] = [s.roleset if s else None for s in senses]
            output_dict["sense_scores"] = [s.score if s else None for s in senses]
        return output_dict

    def get_metrics(self, reset: bool = False) -> Dict[str, float]:
        metrics = {k: v for k, v in self.span_metric.get_metric(reset).items() if "overall" in k}
        if self.hf_model.predicate_classifier is not None:
            metrics.update(self.predicate_metric.get_metric(reset))
        if self.hf_model.sense_classifier is not None:
            senses = self.sense_metric.get_metric(reset)
            if self.hf_model.predicate_classifier is None:  # nothing finds predicates
                senses = {SENSE_ACCURACY: senses[SENSE_ACCURACY]}
            metrics.update(senses)
        return metrics

    @classmethod
    def _load(
        cls,
        config: Params,
        serialization_dir: str,
        weights_file: Optional[str] = None,
        cuda_device: int = -1,
    ) -> "Model":
        """
        AllenNLP's `Model._load` (what `load_archive`, hence `allennlp predict` and `evaluate`,
        calls), except that `weights.th` is read tensors-only (AllenNLP's `torch.load` runs
        whatever code a pickle names) and that the model is built from the archive's embedded
        export instead of reading (possibly deleted) `bert_model` weights.
        """
        config = config.duplicate()
        vocab_params = config.get("vocabulary", Params({}))
        vocab_class, _ = Vocabulary.resolve_class_name(
            vocab_params.pop_choice("type", Vocabulary.list_available(), True)
        )
        vocab = vocab_class.from_files(
            os.path.join(serialization_dir, "vocabulary"),
            vocab_params.get("padding_token"),
            vocab_params.get("oov_token"),
        )
        model_params = config.get("model")
        if embedded_export(serialization_dir) is not None:
            model_params["load_weights"] = False
        model = Model.from_params(
            vocab=vocab, params=model_params, serialization_dir=serialization_dir
        )
        weights_file = weights_file or os.path.join(serialization_dir, "weights.th")
        model.load_state_dict(load_torch_weights(str(weights_file)))
        return model.cuda(cuda_device) if cuda_device >= 0 else model.cpu()


def vocabulary_rolesets(vocab: Vocabulary) -> List[str]:
    """The `roleset_labels` of a vocabulary in index order (`[]` where it has none)."""
    if ROLESETS_NAMESPACE not in vocab.get_namespaces():
        return []
    return [
        vocab.get_token_from_index(i, ROLESETS_NAMESPACE)
        for i in range(vocab.get_vocab_size(ROLESETS_NAMESPACE))
    ]
