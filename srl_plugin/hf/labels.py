"""
Labels and tags: the BIO role tags of a frame, the predicate-identification labels, and the ways
between them (spans, the predicate of a frame, allennlp-models' description string, the bracketed
CoNLL format). Imports neither torch nor AllenNLP.
"""

from typing import List, Optional, Sequence, Tuple

# transformers' ignore index for token classification losses.
IGNORED_LABEL = -100
# Labels of the predicate-identification head: outside, first word, later word of a predicate.
PREDICATE_LABELS = ("O", "B-V", "I-V")
# The role of the predicate itself in a frame's BIO tags (`B-V`, `I-V`; `C-V` for the later
# part of a discontinuous predicate).
PREDICATE_ROLE = "V"


def predicate_indices(tags: Sequence[str]) -> List[int]:
    """The words of a frame's predicate: those whose tag ends in `-V` (as allennlp-models' reader)."""
    return [index for index, tag in enumerate(tags) if tag.endswith("-" + PREDICATE_ROLE)]


def predicate_bio_labels(num_words: int, frames_tags: Sequence[Sequence[str]]) -> List[int]:
    """
    Predicate-identification labels per word from a sentence's frames: 1 on the first word of
    each predicate (its `V` span), 2 on its later words, 0 elsewhere.
    """
    labels = [0] * num_words
    for tags in frames_tags:
        for position, word in enumerate(predicate_indices(tags)):
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


def predicate_tags(num_words: int, predicate: Sequence[int]) -> List[str]:
    """The BIO tags of a frame that marks only its predicate (`B-V`, then `I-V`)."""
    tags = ["O"] * num_words
    for position, word in enumerate(sorted(predicate)):
        tags[word] = ("B-" if position == 0 else "I-") + PREDICATE_ROLE
    return tags


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


def bio_tags_to_spans(tags: Sequence[str]) -> List[Tuple[str, int, int]]:
    """
    Extracts the labelled spans of a BIO tag sequence, as
    `allennlp.data.dataset_readers.dataset_utils.span_utils.bio_tags_to_spans` does (without
    `classes_to_ignore`): an `I-X` tag that does not continue a span of type `X` (after `O`,
    after another type, or first in the sequence) starts a new span, so ill-formed spans are kept.

    # Parameters

    tags : `Sequence[str]`
        BIO tags (`O`, `B-X`, `I-X`), one per word.

    # Returns

    `List[Tuple[str, int, int]]`
        `(label, start, end)` for each span, `end` inclusive, ordered by start. `V` is included.
        AllenNLP returns the same spans as `(label, (start, end))` in no particular order.
    """
    spans: List[Tuple[str, int, int]] = []
    active: Optional[str] = None
    start = 0
    for index, tag in enumerate(tags):
        bio = tag[:1]
        if bio not in ("B", "I", "O"):
            raise ValueError(f"Invalid BIO tag {tag!r} at position {index} in {list(tags)}")
        label = tag[2:]
        if bio == "I" and label == active:
            continue
        if active is not None:
            spans.append((active, start, index - 1))
        if bio == "O":
            active = None
        else:
            active = label
            start = index
    if active is not None:
        spans.append((active, start, len(tags) - 1))
    return spans


def convert_bio_tags_to_conll_format(labels: Sequence[str]) -> List[str]:
    """
    Converts BIO tags to the bracketed CoNLL format read by `srl-eval.pl`, with exactly the
    output of allennlp-models' `convert_bio_tags_to_conll_format`: a span opens with `(X*` and
    closes with `*)` (`(X*)` for one word), every other word is `*`.

        [B-ARG1, I-ARG1, I-ARG1, O] -> ["(ARG1*", "*", "*)", "*"]

    # Parameters

    labels : `Sequence[str]`
        BIO tags, one per word.

    # Returns

    `List[str]`
        The CoNLL-formatted tags.
    """
    sentence_length = len(labels)
    conll_labels = []
    for i, label in enumerate(labels):
        if label == "O":
            conll_labels.append("*")
            continue
        new_label = "*"
        # A span opens at a B- tag, at the first word, or where the label changes.
        if label[0] == "B" or i == 0 or label[1:] != labels[i - 1][1:]:
            new_label = "(" + label[2:] + new_label
        # A span closes at the last word, before a B- tag, or before a change of label.
        if i == sentence_length - 1 or labels[i + 1][0] == "B" or label[1:] != labels[i + 1][1:]:
            new_label = new_label + ")"
        conll_labels.append(new_label)
    return conll_labels
