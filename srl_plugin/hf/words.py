"""
Raw text to sentences and words, keeping character offsets: the project's one sentence segmenter
(`sentence_spans`, sentencex, with over-long segments cut after sentence-final punctuation) and
one word splitter (`word_spans`, spaCy's rule-based English tokenizer, no model). Both were
chosen by measurement against EWT's gold sentences and words (`benchmarks/segmentation.py`,
benchmarks/README.md "Documents").
"""

import functools
import re
import unicodedata
from typing import Any, List, Tuple

# Runs of punctuation that EWT keeps as one word ("!!!", "?!", "....", "=====", "$$$") and spaCy's
# default rules split into single marks: the one rule added to spaCy's English tokenizer.
PUNCTUATION_RUNS = [
    r"[!?]{2,}",
    r"\.{2,}",
    r"\*{2,}",
    r"={2,}",
    r"_{2,}",
    r"-{2,}",
    r"~{2,}",
    r"\+{2,}",
    r"#{2,}",
    r">{2,}",
    r"<{2,}",
    r"\${2,}",
]

# A segment of more words than this is cut after each sentence-final punctuation word as well
# (`_cut_long`): sentencex does not end a sentence inside quotes or before a lowercase word, and
# one segment that merges several sentences makes each of its frames read all of them (slower,
# and arguments taken across the missed boundary). Shorter segments keep sentencex's precision.
LONG_SEGMENT_WORDS = 32
# Words that end a sentence as `word_tokenizer` splits them off: ".", and "?" or "!" runs ("?!",
# "!!!"). An abbreviation keeps its period inside its word ("Mr.", "U.S."), so it is never one;
# an ellipsis ("...", "\u2026") is not either: in web text it goes on as often as it ends (on EWT,
# counting it costs boundary precision 0.954 against 0.975).
_FINAL = re.compile(r"[.!?]|[!?][.!?]*")
# Closing quotes and brackets written right after a sentence's final punctuation stay with it.
_CLOSING = frozenset("\"'\u201d\u2019)]}")
# A final punctuation mark followed by more text: only a segment with one may be cut.
_INNER_FINAL = re.compile(r"[.!?]\S*\s+\S")

# Characters that BERT-style tokenizers drop: control, format (zero-width), surrogate, private
# use and unassigned.
_DROPPED = ("Cc", "Cf", "Cs", "Co", "Cn")
_SURROGATE = re.compile("[\ud800-\udfff]")


@functools.lru_cache(maxsize=None)
def word_tokenizer() -> Any:
    """
    spaCy's blank English tokenizer (rules only, nothing downloaded) with `PUNCTUATION_RUNS`
    kept whole: the word splitter of raw text everywhere in the project.
    """
    import spacy
    from spacy.util import compile_prefix_regex, compile_suffix_regex

    nlp = spacy.blank("en")
    tokenizer: Any = nlp.tokenizer
    tokenizer.prefix_search = compile_prefix_regex(
        PUNCTUATION_RUNS + list(nlp.Defaults.prefixes or ())
    ).search
    tokenizer.suffix_search = compile_suffix_regex(
        PUNCTUATION_RUNS + list(nlp.Defaults.suffixes or ())
    ).search
    return tokenizer


def split_words(sentence: str) -> List[str]:
    """The words of a raw sentence (see `word_spans`)."""
    return [word for word, _, _ in word_spans(sentence)]


def word_spans(text: str) -> List[Tuple[str, int, int]]:
    """
    The words of raw text with their character offsets: `(word, start, end)`, where
    `text[start:end]` is the word as written. Words are `word_tokenizer`'s tokens (clitics split
    Penn Treebank style, "do n't"; URLs, e-mail addresses, emoticons and numbers kept whole);
    control and format characters are dropped from the word (as BERT's tokenizer does; the
    offsets still cover them), and each CJK character is a word of its own (as in BERT).
    """
    spans: List[Tuple[str, int, int]] = []
    # spaCy hashes words as UTF-8, which a lone surrogate (JSON allows "\ud800") cannot be: it
    # becomes a zero-width space, one character as well (offsets stay) and dropped below too.
    for token in word_tokenizer()(_SURROGATE.sub("\u200b", text)):
        if token.is_space:
            continue
        pieces: List[Tuple[str, int, int]] = []
        for position, character in enumerate(token.text, token.idx):
            if unicodedata.category(character) in _DROPPED:
                continue
            if pieces and not _is_cjk(character) and not _is_cjk(pieces[-1][0][-1]):
                # The word goes on (over any dropped character: the offsets cover it).
                word, begin, _ = pieces[-1]
                pieces[-1] = (word + character, begin, position + 1)
            else:
                pieces.append((character, position, position + 1))
        for word, begin, end in pieces:
            if word.strip():
                spans.append((word, begin, end))
    return spans


def sentence_spans(text: str) -> List[Tuple[int, int]]:
    """
    The sentences of raw text as `(start, end)` character offsets, without the whitespace around
    them, found by sentencex (Wikimedia's rule-based segmenter: the highest boundary precision on
    EWT's documents, `benchmarks/segmentation.py`); a segment of more than `LONG_SEGMENT_WORDS`
    words is also cut after each word of sentence-final punctuation (`_cut_long`). A paragraph
    break ends a sentence. Text without a non-space character has no sentences.
    """
    from sentencex import segment

    spans: List[Tuple[int, int]] = []
    position = 0
    for piece in segment("en", text):
        stripped = piece.strip()
        if not stripped:
            position += len(piece) if text.startswith(piece, position) else 0
            continue
        start = text.find(stripped, position)
        if start < 0:  # sentencex returned text that is not the input's: never seen
            raise ValueError(f"the segmenter changed the text of a sentence: {stripped[:40]!r}")
        position = start + len(stripped)
        spans.extend(_cut_long(text, start, position))
    return spans


def _cut_long(text: str, start: int, end: int) -> List[Tuple[int, int]]:
    # The segment text[start:end], cut after each word of final punctuation (and the closing
    # quotes or brackets right after it) if it has more than LONG_SEGMENT_WORDS words.
    if not _INNER_FINAL.search(text, start, end):
        return [(start, end)]
    words = word_spans(text[start:end])
    if len(words) <= LONG_SEGMENT_WORDS:
        return [(start, end)]
    firsts = [0]
    for index, (word, _, end_of_word) in enumerate(words[:-1]):
        if not _FINAL.fullmatch(word) or _FINAL.fullmatch(words[index + 1][0]):
            continue  # not final, or not the last of a run of them ("? !")
        first = index + 1
        while first < len(words) and words[first][0] in _CLOSING and words[first][1] == end_of_word:
            end_of_word = words[first][2]
            first += 1
        if firsts[-1] < first < len(words):
            firsts.append(first)
    bounds = zip(firsts, firsts[1:] + [len(words)])
    return [(start + words[first][1], start + words[last - 1][2]) for first, last in bounds]


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
