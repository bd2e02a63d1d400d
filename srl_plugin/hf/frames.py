"""
One SRL frame (a sentence and one predicate) as model input, and predicted wordpiece tags back
to word tags: the alignment shared by the dataset reader, the AllenNLP model and the labeler.

Windowing of sentences longer than the encoder also lives here, once: a frame keeps the widest
window of words around its predicate (`predicate_window`); predicate identification reads the
sentence in consecutive windows (`sentence_frames`). Reader, model, predictor and labeler all
build their inputs with these two functions.
"""

from dataclasses import dataclass
from typing import Any, Iterator, List, Optional, Sequence, Tuple, TypeVar

from srl_plugin.hf.tokenization import Aligner

Tag = TypeVar("Tag")


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

    def word_tags(
        self, wordpiece_tags: Sequence[Tag], num_words: int, outside: Tag = "O"  # type: ignore
    ) -> List[Tag]:
        """
        Each word's tag is its first wordpiece's; words outside the window get `outside`. Works
        for BIO tags and for the predicate head's label ids (`outside=0`) alike.
        """
        tags = [outside] * num_words
        for word, offset in self.word_offsets():
            tags[word] = wordpiece_tags[offset]
        return tags


def wordpiece_frame(
    aligner: Aligner,
    words: Sequence[str],
    predicate_indices: Sequence[int],
    max_wordpieces: int,
    tags: Optional[Sequence[str]] = None,
    limit: Optional[int] = None,
) -> WordpieceFrame:
    """
    Builds the model input of one frame. A sentence longer than `max_wordpieces` is cut to the
    window around the predicate given by `predicate_window` (`limit`: see there).
    """
    pieces = aligner.tokenize(words)
    start, end = predicate_window(
        pieces.start_offsets, pieces.end_offsets, predicate_indices, max_wordpieces, limit
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


def sentence_frames(
    aligner: Aligner, words: Sequence[str], max_wordpieces: int
) -> List[WordpieceFrame]:
    """
    The sentence in consecutive windows of words that each fit `max_wordpieces` (one window
    unless the sentence is longer than the encoder), without a predicate marked: the input of
    predicate identification. Every word is in exactly one window.
    """
    pieces = aligner.tokenize(words)
    frames = []
    start = 0
    while start < len(words):
        end = start
        while end < len(words) and (
            pieces.end_offsets[end] - pieces.start_offsets[start] + 1 + 2 <= max_wordpieces
        ):
            end += 1
        if end == start:
            size = pieces.end_offsets[start] - pieces.start_offsets[start] + 1
            raise ValueError(
                f"word {start} alone is {size} wordpieces, more than the encoder's "
                f"{max_wordpieces - 2}"
            )
        window = pieces if (start, end) == (0, len(words)) else aligner.tokenize(words[start:end])
        frames.append(
            WordpieceFrame(
                window.ids, [0] * len(window.ids), window.start_offsets, (start, end), None
            )
        )
        start = end
    return frames


def predicate_window(
    start_offsets: Sequence[int],
    end_offsets: Sequence[int],
    predicate_indices: Sequence[int],
    max_wordpieces: int,
    limit: Optional[int] = None,
) -> Tuple[int, int]:
    """
    The words `[start, end)` of the widest window around the predicate that fits in
    `max_wordpieces` wordpieces (with `[CLS]` and `[SEP]`), used for sentences longer than the
    encoder's position embeddings. Words outside the window are tagged `O`. `limit` is the
    encoder's limit where `max_wordpieces` is a narrower choice (a segment window): a window too
    narrow for the predicate's own word (a long URL) gives way to `limit`.

    The window is centred on the predicate's words and grown one word at a time on the side that
    is shorter, so the arguments nearest the predicate are kept.
    """
    num_words = len(start_offsets)
    if num_words == 0:
        return 0, 0

    def width(first: int, last: int) -> int:
        return end_offsets[last] - start_offsets[first] + 1 + 2

    centre = sorted(predicate_indices)[len(predicate_indices) // 2] if predicate_indices else 0
    if limit is not None and width(centre, centre) > max_wordpieces:
        max_wordpieces = limit
    if width(0, num_words - 1) <= max_wordpieces:
        return 0, num_words
    first = last = centre
    if width(first, last) > max_wordpieces:
        raise ValueError(
            f"word {centre} alone is {width(first, last) - 2} wordpieces, more than the "
            f"encoder's {max_wordpieces - 2}"
        )
    while True:
        grow_left = first > 0 and (centre - first <= last - centre or last == num_words - 1)
        if grow_left and width(first - 1, last) <= max_wordpieces:
            first -= 1
        elif last < num_words - 1 and width(first, last + 1) <= max_wordpieces:
            last += 1
        elif first > 0 and width(first - 1, last) <= max_wordpieces:
            first -= 1
        else:
            return first, last + 1


def config_max_wordpieces(config: Any) -> int:
    """The most sub-words (special tokens included) that the encoder of `config` reads."""
    return max_wordpieces(
        getattr(config, "model_type", "bert"),
        getattr(config, "max_position_embeddings", 512),
        getattr(config, "pad_token_id", None),
    )


def max_wordpieces(model_type: str, max_position_embeddings: int, pad_token_id: Any) -> int:
    """
    `max_position_embeddings`, less the positions RoBERTa and XLM-R never use: they number
    positions from `pad_token_id + 1` (514 embeddings for 512 sub-words).
    """
    if model_type in ("roberta", "xlm-roberta"):
        return int(max_position_embeddings) - int(pad_token_id or 0) - 1
    return int(max_position_embeddings)
