"""
PropBank's rolesets (`have.03`: "own, possess"; ARG0 "owner", ARG1 "possession") from the compact
table the package ships (`srl_plugin/data/propbank_rolesets.json.gz`, built from PropBank's frame
files v3.4, CC BY-SA 4.0, by `scripts/build_roleset_table.py`): a roleset's name and its roles'
descriptions, and the rolesets of a lemma, noun and adjective forms included ("approval" ->
`approve.01`).

A roleset the frame files lack answers `None`, an unknown lemma no candidates; nothing raises.
"""

import functools
import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

TABLE_PATH = Path(__file__).resolve().parents[1] / "data" / "propbank_rolesets.json.gz"
# The frame files' example sentences, by the same script (`read_examples`).
EXAMPLES_PATH = Path(__file__).resolve().parents[1] / "data" / "propbank_examples.json.gz"
# What one example weighs against a corpus frame when a sense head is fitted on both
# (`predicate_fitting.fit_sense_head`; chosen on EWT dev at the demo's budget, benchmarks/README).
EXAMPLES_WEIGHT = 0.1

# Parts of speech of the frame files' aliases: verb, noun, adjective ("j"), light-verb
# construction ("l"), multi-word expression ("m"), adverb, preposition, ...
VERB, NOUN, ADJECTIVE = "v", "n", "j"

# EWT marks light-verb uses `have.LV`, `take.LV`: a convention with no frame file.
LIGHT_VERB_SUFFIX = ".LV"


@dataclass(frozen=True)
class Roleset:
    """
    One roleset: its id (`have.03`), name ("own, possess") and numbered roles' descriptions
    (`{"ARG0": "owner", "ARG1": "possession"}`, a few `ARGM-*` too).
    """

    id: str
    name: str
    roles: Dict[str, str] = field(default_factory=dict)

    def describe(self, role: str) -> Optional[str]:
        """
        What `role` means for this roleset ("approver" for `ARG0` of `approve.01`); the
        reference and continuation roles (`R-ARG0`, `C-ARG1`) mean what their base role does.
        `None` where the frame files say nothing (modifiers, mostly: `ARGM-TMP` is a time
        everywhere).
        """
        base = role[2:] if role[:2] in ("R-", "C-") else role
        return self.roles.get(base) or None


class RolesetTable:
    """
    The rolesets and the lemmas' aliases of a table written by `scripts/build_roleset_table.py`.
    `RolesetTable.shipped()` is the package's own, read once.
    """

    def __init__(self, table: Dict[str, Any]) -> None:
        self.source: str = table.get("source", "")
        self._rolesets: Dict[str, List[Any]] = table["rolesets"]
        self._aliases: Dict[str, Dict[str, List[str]]] = table["aliases"]

    @classmethod
    def read(cls, path: str) -> "RolesetTable":
        try:
            with gzip.open(path, "rt", encoding="utf-8") as source:
                table = json.load(source)
        except (OSError, ValueError) as error:
            raise ValueError(f"cannot read the roleset table {path}: {error}") from None
        if not isinstance(table, dict) or not {"rolesets", "aliases"} <= set(table):
            raise ValueError(f"{path} is not a roleset table (no 'rolesets' and 'aliases')")
        return cls(table)

    @staticmethod
    @functools.lru_cache(maxsize=None)
    def shipped() -> "RolesetTable":
        """The table the package ships (PropBank frame files v3.4)."""
        return RolesetTable.read(str(TABLE_PATH))

    def __len__(self) -> int:
        return len(self._rolesets)

    def __contains__(self, roleset: str) -> bool:
        return roleset in self._rolesets

    def get(self, roleset: str) -> Optional[Roleset]:
        """
        The roleset `have.03`; a light-verb use (`have.LV`) gets the name "light verb" and no
        roles; a roleset the frame files lack gives `None`.
        """
        entry = self._rolesets.get(roleset)
        if entry is not None:
            return Roleset(roleset, entry[0], dict(entry[1]))
        if roleset.endswith(LIGHT_VERB_SUFFIX) and len(roleset) > len(LIGHT_VERB_SUFFIX):
            return Roleset(roleset, "light verb")
        return None

    def candidates(self, lemma: str, pos: Optional[str] = None) -> List[str]:
        """
        The rolesets whose aliases include `lemma` (any case), of part of speech `pos` (`v`, `n`,
        `j`, ...) or of any; sorted, without repeats; `[]` for an unknown lemma.
        """
        forms = self._aliases.get(lemma.lower(), {})
        if pos is not None:
            return list(forms.get(pos, []))
        return sorted({roleset for rolesets in forms.values() for roleset in rolesets})


@dataclass(frozen=True)
class RolesetExample:
    """One example sentence of a roleset in the frame files, its predicate one word."""

    roleset: str
    words: List[str]
    predicate: int


def read_examples(path: Optional[str] = None) -> List[RolesetExample]:
    """
    The rolesets' examples written by `scripts/build_roleset_table.py` (default: those the
    package ships, `EXAMPLES_PATH`, from PropBank's frame files v3.4, EWT PropBank's dev and
    test sentences left out).
    """
    path = path or str(EXAMPLES_PATH)
    try:
        with gzip.open(path, "rt", encoding="utf-8") as source:
            examples = json.load(source)["examples"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"cannot read the roleset examples {path}: {error!r}") from None
    return [RolesetExample(roleset, text.split(), index) for roleset, text, index in examples]


def fallback_roleset(lemma: str) -> str:
    """The roleset given to a predicate whose lemma has none known: `lemma.01`."""
    return f"{lemma.lower()}.01"
