"""Raw sentences to words, without spaCy."""

import re
import unicodedata
from typing import List

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
