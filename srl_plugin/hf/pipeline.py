"""
The `semantic-role-labeling` transformers pipeline task, where transformers supports custom
pipelines (4.26 and later): `pipeline("semantic-role-labeling", model=export_dir_or_repo_id)`.

It is a `ChunkPipeline`: each sentence becomes one chunk per frame, so the pipeline's own
batching (`batch_size=N` batches frames across sentences), device placement and dtype apply.
`preprocess` parses the item and builds its frames with the labeler's building blocks
(`parse_item`, `wordpiece_frame` for given predicates, `sentence_frames` for predicate
identification); `_forward` runs the model on the padded tensors; `postprocess` reads the heads'
outputs as everything else does (`tagging.tag_frames`, `predicates.PredicateLabels`, the
labeler's `frame_senses`) and builds the frames (`frame_result`). A raw sentence's predicates
found in `postprocess` are labelled by the `SemanticRoleLabeler` on the same model.

Importing this module registers the task; `srl_plugin.hf` imports it when possible.
"""

from typing import Any, Dict, Iterator, List, Optional

import torch
from transformers import AutoTokenizer
from transformers.pipelines.base import ChunkPipeline

from srl_plugin.hf.checkpoints.hub import resolve_model_dir
from srl_plugin.hf.frames import sentence_frames, wordpiece_frame
from srl_plugin.hf.fusion import encode_sentences, label_shared
from srl_plugin.hf.inputs import Request, parse_item
from srl_plugin.hf.labeler import SemanticRoleLabeler
from srl_plugin.hf.modeling import AutoModelForSemanticRoleLabeling
from srl_plugin.hf.outputs import frame_result, sentence_result
from srl_plugin.hf.predicates import PredicateLabels
from srl_plugin.hf.tagging import tag_frames
from srl_plugin.hf.tokenization import aligner_from_pretrained

TASK = "semantic-role-labeling"
# What a chunk is: a frame to label, a window in which to find predicates, or the placeholder of
# an item with an empty predicate list (a chunk pipeline needs one chunk per item).
_FRAME, _IDENTIFY, _EMPTY = "frame", "identify", "empty"


class SemanticRoleLabelingPipeline(ChunkPipeline):
    """
    Takes what `SemanticRoleLabeler.predict` takes (a sentence string, or
    `{"tokens": [...], "predicates": [...]}` / `{"sentence": ...}`), or a list of words with
    `is_split_into_words=True`, and returns the same frames: `{"words": [...], "verbs": [...]}`.
    A list of such items is a batch, as in every pipeline (so a list of strings is a list of
    sentences unless `is_split_into_words=True`).
    """

    _load_tokenizer = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        folder = resolve_model_dir(self.model.name_or_path)
        if getattr(self, "tokenizer", None) is None:  # pad_collate_fn needs it to batch
            self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.labeler = SemanticRoleLabeler(self.model, aligner_from_pretrained(folder))

    def __call__(self, inputs: Any, **kwargs: Any) -> Any:
        if kwargs.get("is_split_into_words") and _is_words(inputs):
            # One pre-split sentence, not a batch of one-word sentences.
            return super().__call__([list(inputs)], **kwargs)[0]
        return super().__call__(inputs, **kwargs)

    def _sanitize_parameters(self, is_split_into_words: Optional[bool] = None, **kwargs: Any):
        preprocess = {}
        if is_split_into_words is not None:
            preprocess["is_split_into_words"] = is_split_into_words
        return preprocess, {}, {}

    def preprocess(  # type: ignore[override]
        self, inputs: Any, is_split_into_words: bool = False
    ) -> Iterator[Dict[str, Any]]:
        if is_split_into_words:
            if not _is_words(inputs):
                raise ValueError(
                    "is_split_into_words=True takes a list of words (strings), not "
                    f"{type(inputs).__name__}"
                )
            inputs = {"tokens": list(inputs)}
        request = parse_item(inputs)
        labeler = self.labeler
        if request.predicates is None and self.model.predicate_classifier is None:
            # The labeler's own finder: its clear error, or predicates where it has a finder.
            request.predicates = labeler.find_predicates([request.words])[0]
        if request.predicates is None:
            kind = _IDENTIFY
            frames = sentence_frames(labeler.aligner, request.words, labeler.max_wordpieces)
            predicates: List[Optional[List[int]]] = [None] * len(frames)
        elif request.predicates:
            kind = _FRAME
            predicates = list(request.predicates)  # type: ignore[arg-type]
            frames = [
                wordpiece_frame(labeler.aligner, request.words, p, labeler.max_wordpieces)
                for p in request.predicates
            ]
        else:
            kind = _EMPTY
            frames = sentence_frames(labeler.aligner, request.words, labeler.max_wordpieces)[:1]
            predicates = [None]
        for index, (frame, predicate) in enumerate(zip(frames, predicates)):
            yield {
                "input_ids": torch.tensor([frame.input_ids]),
                "token_type_ids": torch.tensor([frame.token_type_ids]),
                "attention_mask": torch.ones((1, len(frame.input_ids)), dtype=torch.long),
                "frame": frame,
                "request": request,
                "predicate": predicate,
                "kind": kind,
                "is_last": index == len(frames) - 1,
            }

    def _forward(self, model_inputs: Dict[str, Any]) -> Dict[str, Any]:  # type: ignore[override]
        # One kind per input, or a list of them when the pipeline batches inputs.
        kinds = model_inputs["kind"]
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if self.model.predicate_fusion_layer and _IDENTIFY in kinds:
            # A fused model's shared encodings, kept for labelling the predicates found in them.
            shared, predicate_logits = encode_sentences(
                self.model, model_inputs["input_ids"], model_inputs["attention_mask"]
            )
            logits = predicate_logits  # (unused for sentences whose predicates are to be found)
            sense_logits = None
            if any(kind != _IDENTIFY for kind in kinds):
                labelled = label_shared(
                    self.model,
                    shared,
                    model_inputs["attention_mask"],
                    model_inputs["token_type_ids"],
                )
                logits, sense_logits = labelled.logits, labelled.sense_logits
            outputs = {"logits": logits, "predicate_logits": predicate_logits, "shared": shared}
        else:
            output = self.model(
                input_ids=model_inputs["input_ids"],
                attention_mask=model_inputs["attention_mask"],
                token_type_ids=model_inputs["token_type_ids"],
            )
            # `logits` first: the pipeline reads the batch size from the first value.
            outputs = {"logits": output.logits, "predicate_logits": output.predicate_logits}
            sense_logits = output.sense_logits
        if sense_logits is not None:
            outputs["sense_logits"] = sense_logits
        for key in ("frame", "request", "predicate", "kind", "is_last"):
            outputs[key] = model_inputs[key]
        return outputs

    def postprocess(self, all_outputs: List[Dict[str, Any]]) -> Dict[str, Any]:  # type: ignore
        request: Request = all_outputs[0]["request"]
        words = request.words
        kind = all_outputs[0]["kind"]
        if kind == _EMPTY:
            return sentence_result(words, request.offsets)
        if kind == _IDENTIFY:
            found = PredicateLabels([len(words)])
            for output in all_outputs:
                found.add(output["predicate_logits"], [output["frame"]], [0])
            request.predicates = found.predicates()[0]
            # The sentence's frames are labelled together (the pipeline's batches hold one
            # model input each; a sentence's frames are only known here), a fused model's from
            # the shared encoding computed above.
            shared = None
            if "shared" in all_outputs[0]:
                shared = {}
                for output in all_outputs:
                    key = tuple(output["frame"].input_ids)
                    shared[key] = output["shared"][0, : len(key)]
            return self.labeler.label_requests([request], shared)[0]
        lengths = [len(output["frame"].input_ids) for output in all_outputs]
        # Shape: (num_frames, num_wordpieces, num_labels)
        logits = torch.nn.utils.rnn.pad_sequence(
            [output["logits"][0, :length] for output, length in zip(all_outputs, lengths)],
            batch_first=True,
        )
        frames = [output["frame"] for output in all_outputs]
        tagged = tag_frames(logits, frames, [len(words)] * len(frames), self.model.labels)
        senses = self.labeler.frame_senses(
            [(words, output["predicate"]) for output in all_outputs],
            [
                output["sense_logits"][0] if "sense_logits" in output else None
                for output in all_outputs
            ],
        )
        result = sentence_result(words, request.offsets)
        for output, tags, sense in zip(all_outputs, tagged, senses):
            result["verbs"].append(
                frame_result(
                    words,
                    output["predicate"],
                    tags.tags,
                    tags.probabilities,
                    request.offsets,
                    request.text,
                    sense,
                )
            )
        return result


def _is_words(inputs: Any) -> bool:
    return isinstance(inputs, (list, tuple)) and all(isinstance(word, str) for word in inputs)


def register() -> bool:
    """Registers the task; returns False where transformers has no custom pipeline registry."""
    try:
        from transformers.pipelines import PIPELINE_REGISTRY
    except ImportError:
        return False
    PIPELINE_REGISTRY.register_pipeline(
        TASK, pipeline_class=SemanticRoleLabelingPipeline, pt_model=AutoModelForSemanticRoleLabeling
    )
    return True


register()
