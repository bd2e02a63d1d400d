"""
The JSON of a labelled frame, as allennlp-models' predictor writes it, plus argument spans,
scores and, for raw sentences, character offsets.

Scores are probabilities in [0, 1]: a word's is the softmax probability (over all tags, at the
word's first wordpiece) of the tag that the constrained Viterbi path gave it. An argument's
`score` is the mean over its words; a frame's `score` is the mean over every word of the
sentence that the frame labels (the whole decoded path), so it is low when the model hesitated
anywhere in the frame. They are confidences for ranking and filtering, not calibrated.

A model with a sense head gives each frame its predicate's `lemma`, `roleset` (`have.03`),
`roleset_name` (the frame files' name, "auxiliary"), `sense_score` (see `srl_plugin.hf.senses`)
and `sense_from_model` (`false` for a fallback roleset, which has no score), and each argument the
`role_description` of its role for that roleset ("approver") where the frame files have one.
"""

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

from srl_plugin.hf.labels import PREDICATE_ROLE, bio_tags_to_spans, make_srl_string

if TYPE_CHECKING:  # senses import the roleset table; frames without senses never need it
    from srl_plugin.hf.senses import Sense

# Digits kept in the JSON: enough to rank by, short lines.
SCORE_DIGITS = 4


def sentence_result(
    words: Sequence[str], offsets: Optional[Sequence[Tuple[int, int]]]
) -> Dict[str, Any]:
    """The result of one sentence before its frames: `words`, `word_offsets` for raw text."""
    result: Dict[str, Any] = {"words": list(words)}
    if offsets is not None:
        result["word_offsets"] = [list(offset) for offset in offsets]
    result["verbs"] = []
    return result


def frame_result(
    words: Sequence[str],
    predicate: Sequence[int],
    tags: List[str],
    probabilities: Optional[Sequence[Optional[float]]] = None,
    offsets: Optional[Sequence[Tuple[int, int]]] = None,
    text: Optional[str] = None,
    sense: Optional["Sense"] = None,
) -> Dict[str, Any]:
    """
    One entry of `"verbs"`: the predicate, its tags, description and arguments as spans
    (`start`, `end`: inclusive word indices). With `probabilities` (per word, `None` outside the
    frame's window), the frame and each argument get a `score`; with `offsets` (per word
    `(start, end)` character offsets in the raw sentence), the predicate and each argument get
    `char_start`/`char_end`, so that `sentence[char_start:char_end]` is the text as written.
    With the predicate's `sense`, the frame gets its lemma and roleset and each argument its
    role's description (see the module's docstring).

    The `verb` and each argument's `text` are the words joined by spaces, except for a raw
    sentence (`text` and `offsets` given): there they are the sentence's own characters between
    the offsets, as a reader sees them (`:-RRB-`, `$$$` or a URL as written).
    """

    def span_text(first: int, last: int) -> str:
        if text is not None and offsets is not None:
            return text[offsets[first][0] : offsets[last][1]]
        return " ".join(words[first : last + 1])

    arguments = []
    for role, start, end in bio_tags_to_spans(tags):
        if role == PREDICATE_ROLE:
            continue
        argument: Dict[str, Any] = {
            "role": role,
            "start": start,
            "end": end,
            "text": span_text(start, end),
        }
        _add_extras(argument, range(start, end + 1), probabilities, offsets)
        meaning = sense.describe(role) if sense is not None else None
        if meaning:
            argument["role_description"] = meaning
        arguments.append(argument)
    if text is not None and offsets is not None and _contiguous(predicate):
        verb = span_text(min(predicate), max(predicate))
    else:
        verb = " ".join(words[i] for i in predicate)
    result: Dict[str, Any] = {"verb": verb}
    if sense is not None:
        result.update(_sense_keys(sense))
    result.update(
        {
            "predicate_indices": list(predicate),
            "description": make_srl_string(words, tags),
            "tags": tags,
            "arguments": arguments,
        }
    )
    _add_extras(result, range(len(words)), probabilities, None)
    if offsets is not None:
        result["char_start"] = offsets[min(predicate)][0]
        result["char_end"] = offsets[max(predicate)][1]
    return result


def _sense_keys(sense: "Sense") -> Dict[str, Any]:
    keys: Dict[str, Any] = {"lemma": sense.lemma, "roleset": sense.roleset}
    if sense.name:
        keys["roleset_name"] = sense.name
    if sense.score is not None:
        keys["sense_score"] = round(sense.score, SCORE_DIGITS)
    keys["sense_from_model"] = sense.from_model
    return keys


def _contiguous(predicate: Sequence[int]) -> bool:
    return max(predicate) - min(predicate) + 1 == len(predicate)


def _add_extras(
    target: Dict[str, Any],
    words: range,
    probabilities: Optional[Sequence[Optional[float]]],
    offsets: Optional[Sequence[Tuple[int, int]]],
) -> None:
    if probabilities is not None:
        known = [p for p in (probabilities[i] for i in words) if p is not None]
        if known:
            target["score"] = round(sum(known) / len(known), SCORE_DIGITS)
    if offsets is not None:
        target["char_start"] = offsets[words[0]][0]
        target["char_end"] = offsets[words[-1]][1]
