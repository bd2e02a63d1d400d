"""
One SRL frame (a sentence and one predicate) as model input, and predicted wordpiece tags back
to word tags: the alignment shared by the dataset reader, the AllenNLP model and the labeler.
"""

import json
import os
from dataclasses import dataclass
from typing import Iterator, List, Optional, Sequence, Tuple

from srl_plugin.hf.tokenization import WordPieceAligner, predicate_window

# transformers' ignore index for token classification losses.
IGNORED_LABEL = -100
# Labels of the predicate-identification head: outside, first word, later word of a predicate.
PREDICATE_LABELS = ("O", "B-V", "I-V")


@dataclass
class WordpieceFrame:
    """
    # Parameters

    input_ids : `List[int]`
        `[CLS]`, the wordpieces of the words in `window`, `[SEP]`.
    token_type_ids : `List[int]`
        1 on the predicate's wordpieces, else 0 (the predicate indicator).
    start_offsets : `List[int]`
        For each word in `window`, the position of its first wordpiece.
    window : `Tuple[int, int]`
        The words `[start, end)` that the frame holds; the whole sentence unless it was too long.
    wordpiece_tags : `List[str]`, optional
        Gold BIO tags per wordpiece, converted as allennlp-models' reader does.
    """

    input_ids: List[int]
    token_type_ids: List[int]
    start_offsets: List[int]
    window: Tuple[int, int]
    wordpiece_tags: Optional[List[str]] = None

    def word_offsets(self) -> Iterator[Tuple[int, int]]:
        """(word index in the sentence, position of its first wordpiece) for words in the window."""
        return zip(range(self.window[0], self.window[1]), self.start_offsets)

    def word_tags(self, wordpiece_tags: Sequence[str], num_words: int) -> List[str]:
        """Each word's tag is its first wordpiece's; words outside the window are `O`."""
        tags = ["O"] * num_words
        for word, offset in self.word_offsets():
            tags[word] = wordpiece_tags[offset]
        return tags


def wordpiece_frame(
    aligner: WordPieceAligner,
    words: Sequence[str],
    predicate_indices: Sequence[int],
    max_wordpieces: int,
    tags: Optional[Sequence[str]] = None,
) -> WordpieceFrame:
    """
    Builds the model input of one frame. A sentence longer than `max_wordpieces` is cut to the
    window around the predicate given by `predicate_window`.
    """
    pieces = aligner.tokenize(words)
    start, end = predicate_window(
        pieces.start_offsets, pieces.end_offsets, predicate_indices, max_wordpieces
    )
    if (start, end) != (0, len(words)):
        pieces = aligner.tokenize(words[start:end])
    is_predicate = set(i - start for i in predicate_indices)
    token_type_ids = [0]
    wordpiece_tags = ["O"] if tags is not None else None
    if tags is not None:
        tags = _window_tags(tags[start:end])
    for word, (first, last) in enumerate(zip(pieces.start_offsets, pieces.end_offsets)):
        count = last - first + 1
        token_type_ids.extend([1 if word in is_predicate else 0] * count)
        if wordpiece_tags is not None and tags is not None and count > 0:
            # allennlp-models' _convert_tags_to_wordpiece_tags: B-X, then I-X on later pieces.
            tag = tags[word]
            later = "I" + tag[1:] if tag.startswith("B") else tag
            wordpiece_tags.extend([tag] + [later] * (count - 1))
    token_type_ids.append(0)
    if wordpiece_tags is not None:
        wordpiece_tags.append("O")
    return WordpieceFrame(
        pieces.ids, token_type_ids, pieces.start_offsets, (start, end), wordpiece_tags
    )


def _window_tags(tags: Sequence[str]) -> List[str]:
    # An argument cut by the window's left edge starts with I-; make it a well-formed span.
    tags = list(tags)
    if tags and tags[0].startswith("I-"):
        tags[0] = "B-" + tags[0][2:]
    return tags


def predicate_bio_labels(num_words: int, frames_tags: Sequence[Sequence[str]]) -> List[int]:
    """
    Predicate-identification labels per word from a sentence's frames: 1 on the first word of
    each predicate (its `V` span), 2 on its later words, 0 elsewhere.
    """
    labels = [0] * num_words
    for tags in frames_tags:
        span = [i for i, tag in enumerate(tags) if tag.endswith("-V")]
        for position, word in enumerate(span):
            if position == 0:
                labels[word] = 1
            elif labels[word] == 0:
                labels[word] = 2
    return labels


def predicate_spans(word_labels: Sequence[int]) -> List[List[int]]:
    """Groups predicted predicate labels (0/1/2 per word) into predicates (lists of word indices)."""
    spans: List[List[int]] = []
    for word, label in enumerate(word_labels):
        if label == 1 or (label == 2 and (not spans or spans[-1][-1] != word - 1)):
            spans.append([word])
        elif label == 2:
            spans[-1].append(word)
    return spans


def encoder_max_wordpieces(checkpoint: str) -> int:
    """The encoder's `max_position_embeddings`, read from the checkpoint's `config.json`."""
    with open(os.path.join(checkpoint, "config.json"), encoding="utf-8") as config_file:
        return int(json.load(config_file).get("max_position_embeddings", 512))
