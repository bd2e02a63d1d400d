"""Raw sentences to words, without spaCy, keeping each word's character offsets."""

import re
import unicodedata
from typing import List, Tuple

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
    return [word for word, _, _ in word_spans(sentence)]


def word_spans(sentence: str) -> List[Tuple[str, int, int]]:
    """
    The words of `split_words` with their character offsets: `(word, start, end)`, where
    `sentence[start:end]` is the word as written. It equals the word unless a dropped control or
    format character (e.g. a zero-width space) stood inside it; the offsets then cover it too.
    """
    kept: List[str] = []
    # For each character of `kept`, the position in `sentence` it came from.
    origin: List[int] = []
    for position, character in enumerate(sentence):
        category = unicodedata.category(character)
        if character.isspace():
            kept.append(" ")
            origin.append(position)
        elif category in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        elif _is_cjk(character):
            kept.append(f" {character} ")
            origin.extend([position] * 3)
        else:
            kept.append(character)
            origin.append(position)
    return [
        (match.group(), origin[match.start()], origin[match.end() - 1] + 1)
        for match in _WORD.finditer("".join(kept))
    ]


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
