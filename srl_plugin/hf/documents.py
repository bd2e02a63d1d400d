"""
Documents in, one result per document out: `srl-label --documents`, the labeler's
`label_documents` and Ray's `SrlLabeler(documents=True)`.

A document is a text line (the whole line is the document), a JSON record `{"id": ..., "text":
..., other fields}`, or a file of an input folder (`Document`). Its sentences are found by
`srl_plugin.hf.words.sentence_spans` and each sentence's words by `word_spans`, shifted to
offsets into the document; each sentence is then a `Request` whose `text` is the whole document,
so every character offset of the result (words, predicates, arguments) is an offset into the
document. Sentences are labelled a chunk at a time across documents
(`SemanticRoleLabeler.label_requests`, which sorts a chunk's frames by length before batching):
a one-megabyte document is held as its text, and as the results of one chunk of its sentences
at a time, never as a whole.

The result of a document:

    {"id": ..., <the record's other fields>, "sentences": [
        {"start": 0, "end": 27, "words": [...], "word_offsets": [[0, 3], ...], "verbs": [...]},
        ...]}

`text[start:end]` is the sentence and every offset is into the document. The `text` itself is
not repeated (the input has it); every other field of a record is kept as it is. A document
without a word (empty, whitespace only) has `"sentences": []`; a bad one (a record without a
string `text`, a line or file that is not UTF-8 or not JSON) gives `{"id": ..., "error": "..."}`
in its place and the others are still labelled.
"""

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Iterator, List, Optional, Union, cast

from srl_plugin.hf.inputs import Request, UnreadableLine, read_line
from srl_plugin.hf.words import sentence_spans, word_spans

# Keys of the result that a record's own fields must not take.
OUTPUT_KEYS = ("sentences", "error")


@dataclass
class Document:
    """
    One document: its `id`, its `text`, and the other fields of its record (kept in its result).
    `error`, when set, says why it could not be read (a file that is not UTF-8): its result is
    that error.
    """

    id: Any
    text: str
    fields: Dict[str, Any] = field(default_factory=dict)
    error: Optional[str] = None


DocumentItem = Union[str, Dict[str, Any], UnreadableLine, Document]


@dataclass
class DocumentStart:
    """The start of a document's result: `head` is everything before its sentences."""

    head: Dict[str, Any]


@dataclass
class DocumentSentences:
    """The results of the next sentences of the document that started last; `first` is the
    position of the first of them in the document."""

    first: int
    sentences: List[Dict[str, Any]]


@dataclass
class DocumentEnd:
    """The end of the document that started last, after its `sentences` sentences."""

    sentences: int


@dataclass
class DocumentError:
    """A document that could not be labelled, in its place: `{"id": ..., "error": "..."}`."""

    record: Dict[str, Any]


DocumentPiece = Union[DocumentStart, DocumentSentences, DocumentEnd, DocumentError]


@dataclass
class _Sentence:
    # One sentence of the document that started last, to be labelled.
    position: int
    start: int
    end: int
    request: Request


def parse_document(item: DocumentItem, default_id: Any) -> Document:
    """
    Validates one document: a string (the whole string is the document, with `default_id`), a
    JSON record with a string `text`, an optional `id` (a string or an integer; `default_id`
    when absent) and any other fields but `sentences` and `error`, or a `Document`. Raises
    `ValueError` saying what is wrong.
    """
    if isinstance(item, Document):
        return item
    if isinstance(item, UnreadableLine):
        raise ValueError(item.message)
    if isinstance(item, str):
        return Document(default_id, item)
    if not isinstance(item, dict):
        raise ValueError(
            f"a document is a string or a JSON object with 'text', not {type(item).__name__}"
        )
    if "text" not in item:
        raise ValueError(f"the record has no 'text' (its keys: {sorted(item)})")
    if not isinstance(item["text"], str):
        raise ValueError(f"'text' must be a string, not {type(item['text']).__name__}")
    if "id" in item and not _is_id(item["id"]):
        raise ValueError(f"'id' must be a string or an integer, not {type(item['id']).__name__}")
    taken = [key for key in OUTPUT_KEYS if key in item]
    if taken:
        raise ValueError(
            f"the record's {taken} would be overwritten by the result's: rename that field"
        )
    fields = {key: value for key, value in item.items() if key not in ("id", "text")}
    return Document(item.get("id", default_id), item["text"], fields)


def read_documents(lines: Iterable[Union[str, bytes]], jsonl: bool) -> Iterator[DocumentItem]:
    """The document of each input line (bytes or str): its text, or its JSON record if `jsonl`."""
    for line in lines:
        # read_line gives a line's text, its JSON object or an UnreadableLine: never a word list.
        yield cast(DocumentItem, read_line(line, jsonl)[1])


def label_document_pieces(
    labeler: Any,
    documents: Iterable[DocumentItem],
    chunk_size: int,
    first_number: Optional[int] = 1,
) -> Iterator[DocumentPiece]:
    """
    Labels documents of any length with `labeler` (a `SemanticRoleLabeler`), yielding each
    document's result in pieces, in order: `DocumentStart`, then `DocumentSentences` for each
    chunk that held some of its sentences, then `DocumentEnd`; or one `DocumentError` for a bad
    document. A writer that writes each piece as it comes never holds a whole document's results.

    Sentences are labelled `chunk_size` at a time, across documents. Documents without an `id`
    get their number: `first_number` for the first document, counting up (the 1-based line number
    of `srl-label`'s input), or none (`"id": null`) when `first_number` is `None`. The predicates
    are found by the model's predicate head: an export without one raises `ValueError`.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, not {chunk_size}")
    pending: List[Union[DocumentPiece, _Sentence]] = []
    sentences = 0
    for piece in _pieces(documents, first_number):
        pending.append(piece)
        sentences += isinstance(piece, _Sentence)
        # Empty documents add no sentence: their pieces are flushed at a bound too.
        if sentences == chunk_size or len(pending) >= 4 * chunk_size:
            yield from _labelled(labeler, pending)
            pending, sentences = [], 0
    yield from _labelled(labeler, pending)


def label_documents(
    labeler: Any,
    documents: Iterable[DocumentItem],
    chunk_size: int,
    first_number: Optional[int] = 1,
) -> Iterator[Dict[str, Any]]:
    """
    The complete result of each document, in order (see the module's docstring and
    `label_document_pieces`, which this assembles; each result is held whole, so for documents
    too large for that, write `label_document_pieces` as they come).
    """
    current: Dict[str, Any] = {}
    for piece in label_document_pieces(labeler, documents, chunk_size, first_number):
        if isinstance(piece, DocumentStart):
            current = dict(piece.head, sentences=[])
        elif isinstance(piece, DocumentSentences):
            current["sentences"].extend(piece.sentences)
        elif isinstance(piece, DocumentEnd):
            yield current
        else:
            yield piece.record


def _pieces(
    documents: Iterable[DocumentItem], first_number: Optional[int]
) -> Iterator[Union[DocumentPiece, _Sentence]]:
    # Each document's start, its sentences to label (words found one sentence at a time, as
    # they are needed) and its end; or its error.
    for position, item in enumerate(documents):
        default_id = None if first_number is None else first_number + position
        given = item.get("id") if isinstance(item, dict) else None
        # A bad document's error carries its id, or its number where it has no usable one.
        document_id = given if _is_id(given) else default_id
        try:
            document = parse_document(item, default_id)
            document_id = document.id
            if document.error is not None:
                raise ValueError(document.error)
            spans = sentence_spans(document.text)
        except ValueError as error:
            yield DocumentError({"id": document_id, "error": str(error)})
            continue
        yield DocumentStart(dict({"id": document.id}, **document.fields))
        count = 0
        for start, end in spans:
            words = word_spans(document.text[start:end])
            if not words:  # only characters that words drop (zero-width spaces)
                continue
            offsets = [(begin + start, finish + start) for _, begin, finish in words]
            request = Request(
                [word for word, _, _ in words], None, offsets, document.text, segmented=True
            )
            yield _Sentence(count, start, end, request)
            count += 1
        yield DocumentEnd(count)


def _is_id(value: Any) -> bool:
    return isinstance(value, (str, int)) and not isinstance(value, bool)


def _labelled(
    labeler: Any, pending: List[Union[DocumentPiece, _Sentence]]
) -> Iterator[DocumentPiece]:
    # The pieces of one chunk, its sentences labelled together and grouped per document.
    sentences = [piece for piece in pending if isinstance(piece, _Sentence)]
    results = iter(labeler.label_requests([sentence.request for sentence in sentences]))
    run: Optional[DocumentSentences] = None
    for piece in pending:
        if isinstance(piece, _Sentence):
            if run is None:
                run = DocumentSentences(piece.position, [])
            run.sentences.append(dict({"start": piece.start, "end": piece.end}, **next(results)))
            continue
        if run is not None:
            yield run
            run = None
        yield piece
    if run is not None:
        yield run
