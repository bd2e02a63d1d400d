"""
What the labeler, the pipeline, the predictor and `srl-label` take: one item (a sentence string,
a list of words, or a JSON object), validated into a `Request` with errors a person can act on.
"""

import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from srl_plugin.hf.words import word_spans


@dataclass
class UnreadableLine:
    """A line of an input file that is no item (not UTF-8, not a JSON object): labelling it gives
    `message` as its error, in its place."""

    message: str


Item = Union[str, Sequence[str], Dict[str, Any], UnreadableLine]


@dataclass
class Request:
    """
    One item to label: its words, its predicates (lists of word indices) if given, and for a
    raw sentence its `text` and each word's `(start, end)` character offsets in it.
    `segmented` marks a sentence whose boundaries a segmenter found (a document's, a spaCy
    Doc's): its frames read at most the labeler's `segment_window` sub-words.
    """

    words: List[str]
    predicates: Optional[List[List[int]]]
    offsets: Optional[List[Tuple[int, int]]] = None
    text: Optional[str] = None
    segmented: bool = False


def parse_item(item: Item) -> Request:
    """
    Validates one input: a sentence string, a list of words, or a JSON object with
    `"sentence"` (a string) or `"tokens"` (a list of strings) and optional `"predicates"` (word
    indices; a list of indices marks one multi-word predicate). Raises `ValueError` saying what
    is wrong.
    """
    predicates: Any = None
    if isinstance(item, UnreadableLine):
        raise ValueError(item.message)
    if isinstance(item, str):
        spans = word_spans(item)
        if not spans:
            raise ValueError("the sentence is empty (no words after removing whitespace)")
        return Request([word for word, _, _ in spans], None, [(s, e) for _, s, e in spans], item)
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
            sentence = parse_item(item["sentence"])
            request = _with_predicates(sentence.words, item.get("predicates"))
            request.offsets, request.text = sentence.offsets, sentence.text
            return request
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


def read_line(line: Union[str, bytes], jsonl: bool) -> Tuple[str, Item]:
    """
    One line of an input file (its line break is dropped) as `(text, item)`: a sentence for a
    text file, the JSON object for a JSONL file in the predictor's format, or an
    `UnreadableLine` saying what is wrong with it.
    """
    if isinstance(line, bytes):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as error:
            text = line.decode("utf-8", errors="replace").rstrip("\r\n")
            return text, UnreadableLine(f"line is {not_utf8(line, error)}")
    else:
        text = line
    text = text.rstrip("\r\n")
    if not jsonl:
        return text, text
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        return text, UnreadableLine(f"line is not valid JSON ({error.msg} at column {error.colno})")
    if not isinstance(value, dict):
        return text, UnreadableLine(f"line must be a JSON object, not {type(value).__name__}")
    return text, value


def not_utf8(data: bytes, error: UnicodeDecodeError) -> str:
    """What is wrong with bytes that are not UTF-8: `not valid UTF-8 (byte 0xff at offset 3)`."""
    return f"not valid UTF-8 (byte {data[error.start]:#04x} at offset {error.start})"
