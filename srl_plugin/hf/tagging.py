"""
The BIO tagger's output path, written once: tag logits over sub-words -> each word's tag and the
probability of that tag, through the BIO-constrained Viterbi of `srl_plugin.hf.decoding` (exactly
allennlp-models' `SrlBert` tags). The labeler, the pipeline, the AllenNLP model and the demo
read a frame's tags through `tag_frames`; `decode_tags` is its decoding step alone (the SRL
classes' `decode`, the decoding benchmark).

A word's tag is its first sub-word's (`WordpieceFrame.word_tags`); words outside a frame's window
are `O` with no probability. Probabilities are the softmax probability of the tag on the decoded
path (see `srl_plugin.hf.outputs` for how frames and arguments are scored).
"""

from dataclasses import dataclass
from functools import lru_cache
from typing import List, Optional, Sequence, Tuple

import torch

from srl_plugin.hf.decoding import (
    bio_transition_constraints,
    path_probabilities,
    viterbi_decode_bio,
)
from srl_plugin.hf.frames import WordpieceFrame


@dataclass
class FrameTags:
    """
    # Parameters

    wordpiece_ids : `List[int]`
        The label id of each sub-word of the frame (special tokens included), on the decoded path.
    tags : `List[str]`
        One BIO tag per word of the sentence.
    probabilities : `List[Optional[float]]`
        The probability of each word's tag; `None` for words outside the frame's window.
    sense_logits : `torch.Tensor`, optional
        The sense head's scores of the frame (shape `(num_rolesets,)`), where the model has one
        and the caller ran it (the labeler sets them; `srl_plugin.hf.senses` decodes them).
    """

    wordpiece_ids: List[int]
    tags: List[str]
    probabilities: List[Optional[float]]
    sense_logits: Optional[torch.Tensor] = None


@lru_cache(maxsize=16)
def _constraints(labels: Tuple[str, ...]) -> Tuple[torch.Tensor, torch.Tensor]:
    return bio_transition_constraints(labels)


def decode_tags(
    logits: torch.Tensor, lengths: Sequence[int], labels: Sequence[str]
) -> List[List[int]]:
    """
    BIO-constrained Viterbi over sub-words, identical to allennlp-models' `SrlBert`: the label
    ids of each sequence's first `lengths[i]` sub-words.

    # Parameters

    logits : `torch.Tensor`
        Shape `(batch_size, num_wordpieces, num_labels)`.
    lengths : `Sequence[int]`
        Unpadded sub-word counts (with the special tokens).
    labels : `Sequence[str]`
        The BIO tag of each label id.
    """
    return _decode(torch.softmax(logits.float(), dim=-1), lengths, labels)


def _decode(
    probabilities: torch.Tensor, lengths: Sequence[int], labels: Sequence[str]
) -> List[List[int]]:
    transitions, start_transitions = _constraints(tuple(labels))
    return viterbi_decode_bio(probabilities, lengths, transitions, start_transitions)


def tag_frames(
    logits: torch.Tensor,
    frames: Sequence[WordpieceFrame],
    num_words: Sequence[int],
    labels: Sequence[str],
) -> List[FrameTags]:
    """
    Each frame's word tags and their probabilities from the tagger's logits.

    # Parameters

    logits : `torch.Tensor`
        Shape `(num_frames, num_wordpieces, num_labels)`: row `i` is `frames[i]`, padded.
    frames : `Sequence[WordpieceFrame]`
        The frames (their sub-words and windows).
    num_words : `Sequence[int]`
        The number of words of each frame's sentence.
    labels : `Sequence[str]`
        The BIO tag of each label id (the model's `id2label`).
    """
    # Shape: (num_frames, num_wordpieces, num_labels); decoded and scored alike.
    probabilities = torch.softmax(logits.float(), dim=-1)
    paths = _decode(probabilities, [len(frame.input_ids) for frame in frames], labels)
    chosen = path_probabilities(probabilities, paths)
    return [
        FrameTags(
            path,
            frame.word_tags([labels[i] for i in path], words),
            frame.word_tags(word_probabilities, words, None),
        )
        for frame, words, path, word_probabilities in zip(frames, num_words, paths, chosen)
    ]
