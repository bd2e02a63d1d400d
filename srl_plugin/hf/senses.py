"""
Predicate senses: which PropBank roleset a frame's predicate has (`have.03`, "own, possess") and
what its roles mean there (`ARG0` -> "owner"), from a model's sense head (`sense_logits`, rows
named by the config's `srl_rolesets`) and the shipped roleset table (`srl_plugin.hf.rolesets`).
The one decoder of senses: the labeler, the pipeline, the AllenNLP model and its metrics all
call `SenseDecoder`.

- `lemmatize`: a predicate word's lemma, by simplemma (MIT, rule- and dictionary-based, no
  model to download), repaired where the frame files know a closer form (contractions such as
  `'s`, `-ing` forms simplemma leaves unknown).
- `SenseDecoder.decode`, design B (`restrict=True`, the default): the highest-scoring roleset
  among those of the predicate's lemma that the head has (its own `lemma.NN` rows and the frame
  files' aliases: "approval" -> `approve.01`), its probability among them as the score; a lemma
  with none gets the frame files' first roleset for it, or `lemma.01`, marked `from_model=False`.
  Design A (`restrict=False`): the highest-scoring of all the head's rows.

Imports neither AllenNLP nor anything that downloads.
"""

import functools
import weakref
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

import torch

from srl_plugin.hf.rolesets import Roleset, RolesetTable, fallback_roleset

# Contracted and chat forms of verbs that simplemma keeps as they are ("'s" is "is" or "has" as
# a predicate; EWT's predicates `'s`, `s` and `r` are mostly `be`).
CONTRACTIONS = {
    "'s": "be",
    "s": "be",
    "'re": "be",
    "'m": "be",
    "r": "be",
    "'ve": "have",
    "'ll": "will",
    "wo": "will",
    "ca": "can",
}
# Inflections tried, longest first, when neither simplemma's lemma nor the word itself is a form
# in the frame files: (suffix, replacements); a doubled final consonant is undone too.
_SUFFIXES = (
    ("ies", ("y",)),
    ("ied", ("y",)),
    ("ing", ("", "e")),
    ("ed", ("", "e")),
    ("es", ("", "e")),
    ("s", ("",)),
)


def _simplemma_lemma(word: str) -> str:
    try:
        import simplemma
    except ImportError:  # pragma: no cover - a dependency of the package
        raise ImportError("predicate senses need simplemma: pip install simplemma") from None
    return str(simplemma.lemmatize(word, lang="en")).lower()


@functools.lru_cache(maxsize=2**16)
def lemmatize(word: str) -> str:
    """
    The lowercased lemma of a predicate word ("had" -> "have", "approved" -> "approve"): a
    contraction's verb (`CONTRACTIONS`), else simplemma's English lemma; where that is no form
    in the shipped frame files but the word itself or a regular inflection's stem is, that
    ("thinking" -> "think", which simplemma makes "thinke"). Cached: it is called per predicate.
    """
    lowered = word.lower()
    if lowered in CONTRACTIONS:
        return CONTRACTIONS[lowered]
    lemma = _simplemma_lemma(lowered)
    table = RolesetTable.shipped()
    if table.candidates(lemma) or not lowered.isalpha():
        return lemma
    if table.candidates(lowered):
        return lowered
    for suffix, replacements in _SUFFIXES:
        if lowered.endswith(suffix) and len(lowered) > len(suffix) + 2:
            stem = lowered[: -len(suffix)]
            stems = [stem] + ([stem[:-1]] if stem[-1] == stem[-2] else [])
            for base in stems:
                for replacement in replacements:
                    if table.candidates(base + replacement):
                        return base + replacement
    return lemma


def predicate_lemma(predicate: str) -> str:
    """
    The lemma of a predicate's words joined by spaces: one word's `lemmatize`; several words'
    lemmas joined by `_`, as PropBank names phrasal verbs ("looking forward" -> `look_forward`).
    """
    words = predicate.split()
    if len(words) == 1:
        return lemmatize(words[0])
    return "_".join(lemmatize(word) for word in words)


@dataclass
class Sense:
    """
    A frame's predicate sense.

    # Parameters

    roleset : `str`
        The PropBank roleset id (`have.03`).
    name : `str`, optional
        The roleset's name in the frame files ("own, possess"); `None` where they lack it.
    score : `float`, optional
        The softmax probability of `roleset` (among the lemma's rolesets with `restrict`, else
        among all the head's); `None` for a fallback.
    from_model : `bool`
        `False` for a fallback: the head has no roleset of the lemma.
    lemma : `str`
        The lemma the roleset was looked up by.
    entry : `Roleset`, optional
        The frame files' roleset (name, roles' descriptions); `None` where they lack it.
    """

    roleset: str
    name: Optional[str]
    score: Optional[float]
    from_model: bool
    lemma: str
    # The frame files' entry of `roleset` (`None` where they lack it), for `describe`.
    entry: Optional[Roleset] = field(default=None, repr=False, compare=False)

    def describe(self, role: str) -> Optional[str]:
        """What `role` means for this roleset (`Roleset.describe`); `None` where unknown."""
        return self.entry.describe(role) if self.entry is not None else None


# `SenseDecoder.of`'s decoders, one per model while it lives.
_DECODERS: "weakref.WeakKeyDictionary[Any, SenseDecoder]" = weakref.WeakKeyDictionary()


class SenseDecoder:
    """
    Senses from a sense head's scores (see the module's docstring).

    # Parameters

    rolesets : `Sequence[str]`
        The roleset of each row of the head (`model.rolesets`, the config's `srl_rolesets`).
    table : `RolesetTable`, optional
        Roleset names, roles and aliases; default the shipped table (PropBank frames v3.4).
    """

    def __init__(self, rolesets: Sequence[str], table: Optional[RolesetTable] = None) -> None:
        self.rolesets = list(rolesets)
        self.table = table if table is not None else RolesetTable.shipped()
        self._rows = {roleset: row for row, roleset in enumerate(self.rolesets)}
        # The head's rows of each lemma by their ids (`have` -> rows of have.01, have.LV, ...).
        self._lemma_rows: Dict[str, List[int]] = {}
        for row, roleset in enumerate(self.rolesets):
            self._lemma_rows.setdefault(roleset.rsplit(".", 1)[0].lower(), []).append(row)
        self._candidates: Dict[str, Tuple[int, ...]] = {}

    @classmethod
    def of(cls, model: Any) -> Optional["SenseDecoder"]:
        """The decoder of a model's sense head (kept while the model lives); `None` without one."""
        rolesets = list(getattr(model, "rolesets", None) or [])
        if not rolesets:
            return None
        decoder = _DECODERS.get(model)
        if decoder is None or decoder.rolesets != rolesets:
            decoder = cls(rolesets)
            _DECODERS[model] = decoder
        return decoder

    def candidate_rows(self, lemma: str) -> Tuple[int, ...]:
        """
        The head's rows of `lemma`'s rolesets (sorted): those named `lemma.NN` and the frame
        files' rolesets of which `lemma` is a form; `()` where the head has none. For a phrasal
        lemma (`look_forward`), its head word's rolesets too (`look.01`, ...).
        """
        found = self._candidates.get(lemma)
        if found is None:
            lemmas = [lemma] + ([lemma.split("_", 1)[0]] if "_" in lemma else [])
            rows: Set[int] = set()
            for form in lemmas:
                rows.update(self._lemma_rows.get(form, ()))
                rows.update(self._rows[r] for r in self.table.candidates(form) if r in self._rows)
            found = self._candidates[lemma] = tuple(sorted(rows))
        return found

    def fallback(self, lemma: str) -> Sense:
        """The sense of a lemma the head knows no roleset of: the table's first, or `lemma.01`."""
        known = self.table.candidates(lemma)
        roleset = known[0] if known else fallback_roleset(lemma)
        return self._sense(roleset, None, False, lemma)

    def decode(
        self,
        sense_logits: torch.Tensor,
        predicates: Sequence[str],
        lemmas: Optional[Sequence[Optional[str]]] = None,
        restrict: bool = True,
    ) -> List[Sense]:
        """
        The sense of each frame.

        # Parameters

        sense_logits : `torch.Tensor`
            Shape `(num_frames, num_rolesets)`: the model's `sense_logits`.
        predicates : `Sequence[str]`
            Each frame's predicate words joined by spaces, lemmatized (`predicate_lemma`) where
            `lemmas` gives none.
        lemmas : `Sequence[Optional[str]]`, optional
            Each frame's lemma where known (e.g. CoNLL-2012's lemma column).
        restrict : `bool`
            Design B (default): the best of the lemma's rolesets; design A: the best of all.
        """
        if sense_logits.dim() != 2 or sense_logits.size(1) != len(self.rolesets):
            raise ValueError(
                f"sense_logits must have shape (frames, {len(self.rolesets)}), not "
                f"{tuple(sense_logits.shape)}"
            )
        if sense_logits.size(0) != len(predicates):
            raise ValueError(
                f"{sense_logits.size(0)} rows of sense_logits for {len(predicates)} predicates"
            )
        if lemmas is not None and len(lemmas) != len(predicates):
            raise ValueError(f"{len(lemmas)} lemmas for {len(predicates)} predicates")
        # Shape: (num_frames, num_rolesets); one transfer for the batch.
        scores = sense_logits.detach().float().cpu()
        if not restrict:
            probabilities = scores.softmax(dim=-1)
            best_scores, best_rows = probabilities.max(dim=-1)
        senses = []
        for index, predicate in enumerate(predicates):
            given = lemmas[index] if lemmas is not None else None
            lemma = given.lower() if given else predicate_lemma(predicate)
            if not restrict:
                row = int(best_rows[index])
                roleset = self.rolesets[row]
                score = float(best_scores[index])
                senses.append(self._sense(roleset, score, True, lemma))
                continue
            rows = self.candidate_rows(lemma)
            if not rows:
                senses.append(self.fallback(lemma))
                continue
            probabilities = scores[index, list(rows)].softmax(dim=-1)
            best = int(probabilities.argmax())
            roleset = self.rolesets[rows[best]]
            senses.append(self._sense(roleset, float(probabilities[best]), True, lemma))
        return senses

    def describe(self, roleset: str, role: str) -> Optional[str]:
        """
        What `role` means for `roleset` ("approver" for `ARG0` of `approve.01`; `R-ARG0` and
        `C-ARG0` as `ARG0`); `None` where the frame files say nothing or lack the roleset.
        """
        found = self.table.get(roleset)
        return found.describe(role) if found is not None else None

    def _sense(self, roleset: str, score: Optional[float], from_model: bool, lemma: str) -> Sense:
        entry = self.table.get(roleset)
        name = entry.name if entry is not None and entry.name else None
        return Sense(roleset, name, score, from_model, lemma, entry)
