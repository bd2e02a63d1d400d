"""
`SemanticRoleLabeler`: SRL frames for raw sentences from an export, without AllenNLP.

It is also the engine of the AllenNLP `hf_srl` predictor: tokenization and alignment, batching
across predicates and sentences (sorted by length, so batches carry little padding) and the
batched BIO-constrained Viterbi all live here or below, once.
"""

import contextlib
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import torch

from srl_plugin.hf.frames import WordpieceFrame, predicate_spans, wordpiece_frame
from srl_plugin.hf.modeling import BertForSemanticRoleLabeling
from srl_plugin.hf.spans import bio_tags_to_spans
from srl_plugin.hf.tokenization import WordPieceAligner

Item = Union[str, Sequence[str], Dict[str, Any]]

# Words of a raw sentence: clitics split as in the Penn Treebank ("do n't", "it 's"), runs of
# letters/digits (with inner hyphens or dots) and single punctuation marks.
_WORD = re.compile(
    r"\w+(?=n't\b)|n't\b|'(?:s|re|ve|ll|d|m)\b|\w+(?:[-.]\w+)*|[^\w\s]", re.IGNORECASE
)


def split_words(sentence: str) -> List[str]:
    """
    Splits a raw sentence into words without spaCy: control and format characters are dropped
    (as BERT's tokenizer does), each CJK ideograph is a word (as in BERT), clitics and
    punctuation are split off Penn Treebank style.
    """
    kept = []
    for character in sentence:
        category = unicodedata.category(character)
        if character in "\t\n\r" or character.isspace():
            kept.append(" ")
        elif category in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        elif _is_cjk(character):
            kept.append(f" {character} ")
        else:
            kept.append(character)
    return _WORD.findall("".join(kept))


def _is_cjk(character: str) -> bool:
    code = ord(character)
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2FA1F
        or 0xF900 <= code <= 0xFAFF
        or 0x3040 <= code <= 0x30FF  # kana
        or 0xAC00 <= code <= 0xD7AF  # hangul syllables
    )


def make_srl_string(words: Sequence[str], tags: Sequence[str]) -> str:
    """`[ARG0: The cat] [V: sat] on the mat`: allennlp-models' description of a frame."""
    frame: List[str] = []
    chunk: List[str] = []
    for word, tag in zip(words, tags):
        if tag.startswith("I-"):
            chunk.append(word)
            continue
        if chunk:
            frame.append("[" + " ".join(chunk) + "]")
            chunk = []
        if tag.startswith("B-"):
            chunk.append(tag[2:] + ": " + word)
        elif tag == "O":
            frame.append(word)
    if chunk:
        frame.append("[" + " ".join(chunk) + "]")
    return " ".join(frame)


@dataclass
class Request:
    """One item to label: its words and, if given, its predicates (lists of word indices)."""

    words: List[str]
    predicates: Optional[List[List[int]]]


def parse_item(item: Item) -> Request:
    """
    Validates one input: a sentence string, a list of words, or a JSON object with
    `"sentence"` (a string) or `"tokens"` (a list of strings) and optional `"predicates"` (word
    indices; a list of indices marks one multi-word predicate). Raises `ValueError` saying what
    is wrong.
    """
    predicates: Any = None
    if isinstance(item, str):
        words = split_words(item)
        if not words:
            raise ValueError("the sentence is empty (no words after removing whitespace)")
    elif isinstance(item, dict):
        known = {"sentence", "tokens", "predicates"}
        unknown = sorted(set(item) - known)
        if unknown:
            raise ValueError(
                f"unknown keys {unknown}: expected 'sentence' or 'tokens', and 'predicates'"
            )
        if ("sentence" in item) == ("tokens" in item):
            raise ValueError(
                "give exactly one of 'sentence' (a string) or 'tokens' (a list of words)"
            )
        if "sentence" in item:
            if not isinstance(item["sentence"], str):
                raise ValueError(
                    f"'sentence' must be a string, not {type(item['sentence']).__name__}"
                )
            return _with_predicates(parse_item(item["sentence"]).words, item.get("predicates"))
        words = _check_words(item["tokens"], "'tokens'")
        predicates = item.get("predicates")
    elif isinstance(item, (list, tuple)):
        words = _check_words(item, "the word list")
    else:
        raise ValueError(
            f"expected a sentence string, a list of words or a JSON object, not {type(item).__name__}"
        )
    return _with_predicates(words, predicates)


def _check_words(words: Any, name: str) -> List[str]:
    if not isinstance(words, (list, tuple)) or not all(isinstance(w, str) for w in words):
        raise ValueError(f"{name} must be a list of strings")
    if not words:
        raise ValueError(f"{name} is empty")
    for index, word in enumerate(words):
        if not word.strip():
            raise ValueError(f"word {index} of {name} is empty or whitespace")
    return list(words)


def _with_predicates(words: List[str], predicates: Any) -> Request:
    if predicates is None:
        return Request(words, None)
    if not isinstance(predicates, list):
        raise ValueError(
            f"'predicates' must be a list of word indices, not {type(predicates).__name__}"
        )
    spans = []
    for predicate in predicates:
        span = predicate if isinstance(predicate, list) else [predicate]
        for index in span:
            if not isinstance(index, int) or isinstance(index, bool):
                raise ValueError(f"predicate index {index!r} is not an integer")
            if not 0 <= index < len(words):
                raise ValueError(
                    f"predicate index {index} is outside the sentence ({len(words)} words)"
                )
        if not span:
            raise ValueError("a predicate must have at least one word index")
        spans.append(sorted(span))
    return Request(words, spans)


class SemanticRoleLabeler:
    """
    Labels sentences with SRL frames.

    # Parameters

    model : `BertForSemanticRoleLabeling`
        The model (from an export, or an AllenNLP `hf_srl` model's `hf_model`).
    aligner : `WordPieceAligner`
        Its tokenizer.
    device : `str` or `torch.device`, optional
        Where to run; default the model's device.
    batch_size : `int`, optional (default = `64`)
        Frames (sentence, predicate pairs) per forward pass.
    autocast_dtype : `torch.dtype`, optional
        `torch.bfloat16` or `torch.float16` to run the encoder under autocast on a GPU.
        Decoding always runs in float32.
    """

    def __init__(
        self,
        model: BertForSemanticRoleLabeling,
        aligner: WordPieceAligner,
        device: Optional[Union[str, torch.device]] = None,
        batch_size: int = 64,
        autocast_dtype: Optional[torch.dtype] = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, not {batch_size}")
        self.model = model
        self.aligner = aligner
        if device is not None:
            self.model.to(device)
        self.batch_size = batch_size
        self.autocast_dtype = autocast_dtype
        self.max_wordpieces = model.config.max_position_embeddings

    @classmethod
    def from_pretrained(
        cls,
        directory: str,
        device: Optional[Union[str, torch.device]] = None,
        batch_size: int = 64,
        autocast_dtype: Optional[torch.dtype] = None,
    ) -> "SemanticRoleLabeler":
        """Loads an export folder written by the plugin (the callback or `srl-export`)."""
        from srl_plugin.hf.checkpoint import load_pretrained_srl_model

        model = load_pretrained_srl_model(directory)
        model.eval()
        return cls(
            model, WordPieceAligner.from_pretrained(directory), device, batch_size, autocast_dtype
        )

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def predict(self, item: Item) -> Dict[str, Any]:
        """The frames of one item (see `parse_item`): `{"words": [...], "verbs": [...]}`."""
        return self.predict_batch([item])[0]

    def predict_batch(
        self, items: Sequence[Item], raise_errors: bool = True
    ) -> List[Dict[str, Any]]:
        """
        The frames of many items, batched together.

        Each verb entry has `verb`, `description` and `tags` as in allennlp-models' predictor,
        plus `predicate_indices` and `arguments` (`role`, `start`, `end` (inclusive word
        indices), `text`). Items without `predicates` get the predicates found by the model's
        predicate-identification head.

        With `raise_errors=False`, a bad item gives `{"error": "..."}` in its place and the others
        are still labelled; otherwise the first bad item raises `ValueError` naming its position.
        """
        requests: List[Optional[Request]] = []
        results: List[Optional[Dict[str, Any]]] = []
        for position, item in enumerate(items):
            try:
                requests.append(parse_item(item))
                results.append(None)
            except ValueError as error:
                if raise_errors:
                    raise ValueError(f"item {position}: {error}") from None
                requests.append(None)
                results.append({"error": str(error)})
        valid = [(i, r) for i, r in enumerate(requests) if r is not None]
        need_predicates = [(i, r) for i, r in valid if r.predicates is None]
        if need_predicates:
            found = self.find_predicates([r.words for _, r in need_predicates])
            for (_, request), predicates in zip(need_predicates, found):
                request.predicates = predicates
        frames = [(i, predicate) for i, request in valid for predicate in request.predicates or []]
        tags = self.label_frames(
            [(requests[i].words, predicate) for i, predicate in frames]  # type: ignore
        )
        for i, request in valid:
            results[i] = {"words": request.words, "verbs": []}
        for (i, predicate), frame_tags in zip(frames, tags):
            words = requests[i].words  # type: ignore
            results[i]["verbs"].append(frame_result(words, predicate, frame_tags))  # type: ignore
        return results  # type: ignore

    def find_predicates(self, sentences: Sequence[Sequence[str]]) -> List[List[List[int]]]:
        """The predicates (lists of word indices) that the predicate head finds in each sentence."""
        if self.model.predicate_classifier is None:
            raise ValueError(
                "this model has no predicate-identification head: give the predicates "
                '("predicates": [word indices])'
            )
        chunks = []  # (sentence index, first word, frame)
        for index, words in enumerate(sentences):
            for start, frame in self._sentence_chunks(words):
                chunks.append((index, start, frame))
        labels: List[List[int]] = [[0] * len(words) for words in sentences]
        for batch in self._batches([frame for _, _, frame in chunks]):
            output = self._forward([frame for _, frame in batch])
            # Shape: (batch_size, num_wordpieces)
            predicted = output.predicate_logits.argmax(-1).tolist()
            for (chunk_index, frame), row in zip(batch, predicted):
                sentence_index, start, _ = chunks[chunk_index]
                for word, offset in frame.word_offsets():
                    labels[sentence_index][start + word] = row[offset]
        return [predicate_spans(word_labels) for word_labels in labels]

    def label_frames(
        self, frames: Sequence[Tuple[Sequence[str], Sequence[int]]]
    ) -> List[List[str]]:
        """BIO tags per word for each (words, predicate word indices) frame."""
        inputs = [
            wordpiece_frame(self.aligner, words, predicate, self.max_wordpieces)
            for words, predicate in frames
        ]
        labels = self.model.labels
        tags: List[Optional[List[str]]] = [None] * len(inputs)
        for batch in self._batches(inputs):
            batch_frames = [frame for _, frame in batch]
            output = self._forward(batch_frames)
            ids = self.model.decode(output.logits, [len(f.input_ids) for f in batch_frames])
            for (index, frame), frame_ids in zip(batch, ids):
                wordpiece_tags = [labels[i] for i in frame_ids]
                tags[index] = frame.word_tags(wordpiece_tags, len(frames[index][0]))
        return tags  # type: ignore

    def _sentence_chunks(self, words: Sequence[str]) -> Iterator[Tuple[int, WordpieceFrame]]:
        # Consecutive windows of words that fit the encoder, for predicate identification.
        start = 0
        while start < len(words):
            frame = wordpiece_frame(self.aligner, words[start:], [0], self.max_wordpieces)
            frame.token_type_ids = [0] * len(frame.token_type_ids)
            yield start, frame
            start += frame.window[1]

    def _batches(
        self, frames: Sequence[WordpieceFrame]
    ) -> Iterator[List[Tuple[int, WordpieceFrame]]]:
        # Longest first, so the first batch shows at once whether memory suffices.
        order = sorted(range(len(frames)), key=lambda i: -len(frames[i].input_ids))
        for begin in range(0, len(order), self.batch_size):
            yield [(i, frames[i]) for i in order[begin : begin + self.batch_size]]

    def _forward(self, frames: Sequence[WordpieceFrame]) -> Any:
        length = max(len(frame.input_ids) for frame in frames)
        input_ids = torch.full((len(frames), length), self.aligner.pad_id, dtype=torch.long)
        token_type_ids = torch.zeros((len(frames), length), dtype=torch.long)
        attention_mask = torch.zeros((len(frames), length), dtype=torch.long)
        for row, frame in enumerate(frames):
            size = len(frame.input_ids)
            input_ids[row, :size] = torch.tensor(frame.input_ids)
            token_type_ids[row, :size] = torch.tensor(frame.token_type_ids)
            attention_mask[row, :size] = 1
        device = self.device
        autocast: Any = contextlib.nullcontext()
        if self.autocast_dtype is not None and device.type == "cuda":
            autocast = torch.autocast(device_type="cuda", dtype=self.autocast_dtype)
        with torch.no_grad(), autocast:
            return self.model(
                input_ids=input_ids.to(device),
                attention_mask=attention_mask.to(device),
                token_type_ids=token_type_ids.to(device),
            )


def frame_result(words: Sequence[str], predicate: Sequence[int], tags: List[str]) -> Dict[str, Any]:
    """One entry of `"verbs"`: the predicate, its tags, description and arguments as spans."""
    arguments = [
        {"role": role, "start": start, "end": end, "text": " ".join(words[start : end + 1])}
        for role, (start, end) in _spans(tags)
        if role != "V"
    ]
    return {
        "verb": " ".join(words[i] for i in predicate),
        "predicate_indices": list(predicate),
        "description": make_srl_string(words, tags),
        "tags": tags,
        "arguments": arguments,
    }


def _spans(tags: Sequence[str]) -> List[Tuple[str, Tuple[int, int]]]:
    return [(role, (start, end)) for role, start, end in bio_tags_to_spans(list(tags))]
