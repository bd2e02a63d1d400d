"""
`hf_srl`: the predictor of `hf_srl` models, on the same code as the Hugging Face
`SemanticRoleLabeler` (no spaCy: predicates come from the model's predicate head).
"""

import logging
from typing import Any, Dict, List

from allennlp.common.util import JsonDict, sanitize
from allennlp.data import DatasetReader, Instance
from allennlp.models import Model
from allennlp.predictors.predictor import Predictor

from srl_plugin.hf.formats import json_line
from srl_plugin.hf.inputs import UnreadableLine, parse_item, read_line
from srl_plugin.hf.labeler import SemanticRoleLabeler
from srl_plugin.hf.outputs import frame_result

logger = logging.getLogger(__name__)

# Keys of the placeholder that `load_line` returns for an unreadable line.
_ERROR, _LINE = "__srl_plugin_error__", "__srl_plugin_line__"


@Predictor.register("hf_srl")
class HfSrlPredictor(Predictor):
    """
    Takes JSON lines with `"sentence"` (a string) or `"tokens"` (a list of words) and optional
    `"predicates"` (word indices; a list of indices is one multi-word predicate), and writes
    `{"words": [...], "verbs": [{"verb", "description", "tags", "predicate_indices",
    "arguments", "score"}]}` per line, as allennlp-models' predictor does (plus the last three
    keys; a `"sentence"` also gets character offsets: see `SemanticRoleLabeler.predict_batch`).

    A bad line (not JSON, wrong keys or types, empty sentence, predicate index outside the
    sentence, or no `"predicates"` for a model without a predicate-identification head, such as
    a converted allennlp-models `srl_bert` archive) is answered with `{"error": "...", "input":
    ...}` and the other lines are still predicted. Sentences longer than the encoder are labelled
    in windows around each predicate.

    # Parameters

    batch_size : `int`, optional (default = `64`)
        Frames per forward pass inside one `--batch-size` group of lines.
    """

    def __init__(
        self, model: Model, dataset_reader: DatasetReader, frozen: bool = True, batch_size: int = 64
    ) -> None:
        super().__init__(model, dataset_reader, frozen)
        self.labeler = SemanticRoleLabeler(model.hf_model, model.aligner, batch_size=batch_size)

    def load_line(self, line: str) -> JsonDict:
        text, item = read_line(line, jsonl=True)
        if isinstance(item, UnreadableLine):
            return {_ERROR: item.message, _LINE: text}
        return item  # type: ignore

    def dump_line(self, outputs: JsonDict) -> str:
        return json_line(outputs)

    def predict(self, sentence: str) -> JsonDict:
        return self.predict_json({"sentence": sentence})

    def predict_json(self, inputs: JsonDict) -> JsonDict:
        return self.predict_batch_json([inputs])[0]

    def predict_batch_json(self, inputs: List[JsonDict]) -> List[JsonDict]:
        readable = [item for item in inputs if _ERROR not in item]
        labelled = iter(self.labeler.predict_batch(readable, raise_errors=False))
        outputs: List[JsonDict] = []
        for item in inputs:
            if _ERROR in item:
                output: JsonDict = {"error": item[_ERROR], "input": item[_LINE]}
            else:
                output = next(labelled)
                if "error" in output:
                    output["input"] = item
            if "error" in output:
                logger.warning("skipped an input: %s", output["error"])
            outputs.append(output)
        return sanitize(outputs)

    def _json_to_instance(self, json_dict: JsonDict) -> Instance:
        # One frame: the item's words (a "sentence" is split as the labeler splits it) and its
        # first predicate, validated as every input is.
        request = parse_item(json_dict)
        predicate = request.predicates[0] if request.predicates else []
        return self._dataset_reader.text_to_instance(request.words, predicate)

    def predict_instance(self, instance: Instance) -> JsonDict:
        return self.predict_batch_instance([instance])[0]

    def predict_batch_instance(self, instances: List[Instance]) -> List[JsonDict]:
        """For `--use-dataset-reader`: one output per instance (frame) read from CoNLL files."""
        outputs = self._model.forward_on_instances(instances)
        results = []
        for output in outputs:
            metadata: Dict[str, Any] = output["metadata"]
            words = metadata["words"]
            result: Dict[str, Any] = {"words": words}
            if metadata["is_frame"]:
                predicate = metadata["predicate_indices"]
                result["verbs"] = (
                    [frame_result(words, predicate, output["tags"], sense=output.get("senses"))]
                    if predicate
                    else []
                )
                result["gold_tags"] = metadata.get("gold_tags")
            else:
                result["predicates"] = output["predicates"]
            results.append(result)
        return sanitize(results)
