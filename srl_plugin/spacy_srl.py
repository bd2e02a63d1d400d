"""
The spaCy pipeline component `semantic_role_labeler`: SRL frames of an export on spaCy Docs.

    nlp = spacy.blank("en")
    nlp.add_pipe("semantic_role_labeler", config={"model": "runs/demo/hf_model"})
    doc = nlp("The committee approved the budget.")
    doc._.srl_frames      # [{"predicate": approved, "score": ..., "arguments": [...]}]
    doc.spans["srl"]      # predicates (label "V") and arguments (label = role), for displaCy

spaCy finds this module through the `spacy_factories` entry point and imports it whenever it
builds a `Language`, `spacy.blank` included, in every process where srl_plugin is installed: so it
lives outside `srl_plugin.hf` (whose import loads transformers), only spaCy is imported here at
module level (the labeler when the first Doc is labelled), and the module must import on every
spaCy the project meets.
"""

import bisect
import os
import tempfile
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import srsly
from spacy import util
from spacy.language import Language
from spacy.tokens import Doc, Span, SpanGroup, Token

# Where a Doc keeps its frames: plain data (token indices, roles, scores), so that
# `Doc.to_bytes`/`from_bytes` and `DocBin(store_user_data=True)` keep them; the extensions
# build `Span`s from it.
FRAMES_KEY = "srl_plugin.frames"
# The export inside the component's folder of a saved pipeline (`nlp.to_disk`).
MODEL_FOLDER = "model"
# Sentences per `label_requests` call: a batch of Docs is labelled this many sentences at a time
# (sorted by length inside), so one huge Doc does not hold all its frames' tensors at once.
SENTENCES_PER_CALL = 1024
# The keys of the labeler's frame dict that the Doc's frames hold in other forms (spans, token
# indices); any other key (a future sense head's "roleset") is kept as it is.
_FRAME_KEYS = {
    "verb",
    "predicate_indices",
    "description",
    "tags",
    "arguments",
    "score",
    "char_start",
    "char_end",
}
_ARGUMENT_KEYS = {"role", "start", "end", "text", "score", "char_start", "char_end"}
PREDICATE_LABEL = "V"
# The default `segment_window`: `srl_plugin.hf.labeler.DEFAULT_SEGMENT_WINDOW`, written out
# because importing the labeler here would load transformers with every spaCy pipeline (a test
# checks that the two agree); a config holds the number, so a saved pipeline keeps it.
SEGMENT_WINDOW = 48


@Language.factory(
    "semantic_role_labeler",
    default_config={
        "model": "",
        "batch_size": 64,
        "device": None,
        "dtype": "fp32",
        "segment_window": SEGMENT_WINDOW,
        "spans_key": "srl",
        "predicates_key": "srl_predicates",
    },
)
def make_semantic_role_labeler(
    nlp: Language,
    name: str,
    model: str,
    batch_size: int,
    device: Optional[str],
    dtype: str,
    segment_window: Optional[int],
    spans_key: str,
    predicates_key: Optional[str],
) -> "SemanticRoleLabelerComponent":
    """The `semantic_role_labeler` factory (`nlp.add_pipe("semantic_role_labeler", config=...)`)."""
    return SemanticRoleLabelerComponent(
        nlp.vocab,
        name,
        model,
        batch_size,
        device,
        dtype,
        spans_key,
        predicates_key,
        segment_window,
    )


class SemanticRoleLabelerComponent:
    """
    Labels each Doc's sentences with SRL frames, using the Doc's own tokens and sentences.

    Words are the Doc's tokens (whitespace tokens skipped), so a custom tokenizer or a Doc built
    from pre-tokenized words is labelled as it is, never tokenized again. A Doc with sentence
    boundaries (a parser, a sentencizer, or set by hand) keeps them; a Doc without any gets them
    from the project's segmenter (`srl_plugin.hf.words.sentence_spans`, sentencex), mapped onto
    its tokens (a sentence starts at the first token at or after the segment's start), so that
    `spacy.blank("en")` plus this component works without a sentencizer. Predicates are found by
    the export's predicate head, or taken from `doc.spans[predicates_key]` where the Doc has that
    key (each span one predicate; a sentence without such a span then gets no frames).

    `nlp.pipe` labels the sentences of a whole batch of Docs together (sorted by length, in
    batches of `batch_size` frames). The export is loaded when the first Doc is labelled (or
    from the saved copy by `spacy.load`); `nlp.to_disk` writes it into `<path>/<name>/model`,
    so a saved pipeline loads without the original export.

    # Parameters

    vocab : `Vocab`
        The pipeline's vocabulary.
    name : `str`
        The component's name in the pipeline.
    model : `str`
        An export folder or a Hub repo id in the local Hugging Face cache.
    batch_size : `int`
        Frames (sentence, predicate pairs) per forward pass.
    device : `str`, optional
        `cpu`, `cuda`, `cuda:1`, ...; default `cuda` if torch sees one, else `cpu`.
    dtype : `str`
        `fp32`, or `bf16`/`fp16` (autocast on a GPU).
    segment_window : `int`, optional
        Each frame reads at most this many sub-words around its predicate, so that a sentence
        whose boundaries were missed (a paragraph) is not read whole by each of its frames
        (`srl-label --segment-window`); `None` or 0 reads whole sentences.
    spans_key : `str`
        The `doc.spans` key of the predicate and argument spans.
    predicates_key : `str`, optional
        The `doc.spans` key where a Doc may give its predicates; `None`: always find them.
    """

    def __init__(
        self,
        vocab: Any,
        name: str,
        model: str,
        batch_size: int = 64,
        device: Optional[str] = None,
        dtype: str = "fp32",
        spans_key: str = "srl",
        predicates_key: Optional[str] = "srl_predicates",
        segment_window: Optional[int] = SEGMENT_WINDOW,
    ) -> None:
        if not model:
            raise ValueError(
                'semantic_role_labeler needs a model: nlp.add_pipe("semantic_role_labeler", '
                'config={"model": "path/to/export or org/hub-id"})'
            )
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, not {batch_size}")
        self.vocab = vocab
        self.name = name
        self.model = model
        self.batch_size = batch_size
        self.device = device
        self.dtype = dtype
        self.spans_key = spans_key
        self.predicates_key = predicates_key
        self.segment_window = segment_window
        self._labeler: Any = None
        self._model_card = ""

    @property
    def labeler(self) -> Any:
        """The `SemanticRoleLabeler`, loaded from `model` on first use."""
        if self._labeler is None:
            self._load(self.model)
        return self._labeler

    def _load(self, source: str) -> None:
        from srl_plugin.hf.checkpoints.hub import resolve_model_dir
        from srl_plugin.hf.corpus import load_labeler

        self._labeler = load_labeler(
            source,
            self.batch_size,
            self.device,
            self.dtype,
            segment_window=self.segment_window or 0,
        )
        card = os.path.join(resolve_model_dir(source), "README.md")
        self._model_card = ""
        if os.path.isfile(card):
            with open(card, encoding="utf-8") as text:
                self._model_card = text.read()

    def __call__(self, doc: Doc) -> Doc:
        self._label_docs([doc])
        return doc

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterator[Doc]:
        """Labels `batch_size` Docs at a time, their sentences batched together."""
        for docs in util.minibatch(stream, size=batch_size):
            self._label_docs(docs)
            yield from docs

    def _label_docs(self, docs: Sequence[Doc]) -> None:
        from srl_plugin.hf.inputs import Request

        labeler = self.labeler
        # Per sentence: its Doc's position, the token index of each word, and its request.
        sentences: List[Tuple[int, List[int], Any]] = []
        for position, doc in enumerate(docs):
            ensure_sentences(doc)
            given = self._given_predicates(doc)
            for sentence in doc.sents:
                tokens = [token.i for token in sentence if not token.is_space]
                if not tokens:
                    continue
                predicates = None if given is None else given_in(sentence, tokens, given)
                if predicates is None and labeler.model.predicate_classifier is None:
                    raise ValueError(self._no_predicate_head())
                words = [doc[i].text for i in tokens]
                offsets = [(doc[i].idx, doc[i].idx + len(doc[i].text)) for i in tokens]
                request = Request(words, predicates, offsets, doc.text, segmented=True)
                sentences.append((position, tokens, request))
        frames: List[List[Dict[str, Any]]] = [[] for _ in docs]
        for begin in range(0, len(sentences), SENTENCES_PER_CALL):
            chunk = sentences[begin : begin + SENTENCES_PER_CALL]
            results = labeler.label_requests([request for _, _, request in chunk])
            for (position, tokens, _), result in zip(chunk, results):
                frames[position].extend(frame_data(verb, tokens) for verb in result["verbs"])
        for doc, labelled in zip(docs, frames):
            doc.user_data[FRAMES_KEY] = labelled
            doc.spans[self.spans_key] = SpanGroup(
                doc, name=self.spans_key, spans=frame_spans(doc, labelled)
            )

    def _given_predicates(self, doc: Doc) -> Optional[List[Span]]:
        if self.predicates_key is None or self.predicates_key not in doc.spans:
            return None
        return list(doc.spans[self.predicates_key])

    def _no_predicate_head(self) -> str:
        where = (
            f'as spans in doc.spans["{self.predicates_key}"] (e.g. doc.spans'
            f'["{self.predicates_key}"] = [doc[2:3]])'
            if self.predicates_key
            else 'as spans: set the component\'s config {"predicates_key": "srl_predicates"} '
            'and put them in doc.spans["srl_predicates"]'
        )
        return (
            f"the export {self.model!r} has no predicate-identification head, so "
            f"semantic_role_labeler cannot find predicates: give each Doc's predicates {where}, "
            "or fit a head to the export first (srl-fit-predicates EXPORT CONLL --output DIR)"
        )

    # Serialization: the export travels with the pipeline.

    def to_disk(self, path: Any, *, exclude: Iterable[str] = tuple()) -> None:
        """Writes the export into `path/model` (unless `exclude` names `model`)."""

        def write(folder: Any) -> None:
            self._write_export(folder)

        util.to_disk(path, {MODEL_FOLDER: write}, exclude)

    def from_disk(
        self, path: Any, *, exclude: Iterable[str] = tuple()
    ) -> "SemanticRoleLabelerComponent":
        """Loads the export saved in `path/model`; without one, `model` is loaded when needed."""

        def read(folder: Any) -> None:
            if os.path.isdir(folder):
                self._load(str(folder))

        util.from_disk(path, {MODEL_FOLDER: read}, exclude)
        return self

    def to_bytes(self, *, exclude: Iterable[str] = tuple()) -> bytes:
        """The export's files (`exclude=["model"]`: nothing)."""

        def export_files() -> bytes:
            with tempfile.TemporaryDirectory() as folder:
                written = self._write_export(os.path.join(folder, MODEL_FOLDER))
                files = {}
                for name in sorted(os.listdir(written)):
                    with open(os.path.join(written, name), "rb") as data:
                        files[name] = data.read()
            return srsly.msgpack_dumps(files)

        return util.to_bytes({MODEL_FOLDER: export_files}, exclude)

    def from_bytes(
        self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()
    ) -> "SemanticRoleLabelerComponent":
        def read(data: bytes) -> None:
            with tempfile.TemporaryDirectory() as folder:
                for name, content in srsly.msgpack_loads(data).items():
                    if os.path.basename(name) != name:
                        raise ValueError(f"not a file name of an export: {name!r}")
                    with open(os.path.join(folder, name), "wb") as target:
                        target.write(content)
                self._load(folder)

        util.from_bytes(bytes_data, {MODEL_FOLDER: read}, exclude)
        return self

    def _write_export(self, folder: Any) -> str:
        from srl_plugin.hf.checkpoints.export import write_export

        labeler = self.labeler
        card = self._model_card or f"# SRL export of a spaCy pipeline (from {self.model})\n"
        return write_export(labeler.model, labeler.aligner, str(folder), card)


def ensure_sentences(doc: Doc) -> None:
    """
    Gives a Doc without sentence boundaries those of `srl_plugin.hf.words.sentence_spans`
    (`set_sentence_starts`). A Doc with boundaries keeps them.
    """
    if len(doc) == 0 or doc.has_annotation("SENT_START"):
        return
    from srl_plugin.hf.words import sentence_spans

    set_sentence_starts(doc, [start for start, _ in sentence_spans(doc.text)])


def set_sentence_starts(doc: Doc, starts: Iterable[int]) -> None:
    """
    Sets a Doc's sentence boundaries from the character offsets where sentences start: a
    sentence starts at the first token that starts at or after such an offset (and at token 0).
    """
    token_starts = [token.idx for token in doc]
    first_tokens = {0}
    for start in starts:
        first = bisect.bisect_left(token_starts, start)
        if first < len(doc):
            first_tokens.add(first)
    for token in doc:
        token.is_sent_start = token.i in first_tokens


def given_in(sentence: Span, tokens: List[int], given: Sequence[Span]) -> List[List[int]]:
    """
    The word indices of the given predicate spans that lie in `sentence` (whose words are the
    tokens `tokens`); a span across the sentence's boundary or of whitespace only is an error.
    """
    word_of = {token: index for index, token in enumerate(tokens)}
    predicates = []
    for span in given:
        if span.end <= sentence.start or span.start >= sentence.end:
            continue
        if span.start < sentence.start or span.end > sentence.end:
            raise ValueError(
                f"the predicate span {span.text!r} (tokens {span.start}-{span.end - 1}) crosses "
                f"the boundary of the sentence at tokens {sentence.start}-{sentence.end - 1}"
            )
        words = [word_of[token.i] for token in span if token.i in word_of]
        if not words:
            raise ValueError(
                f"the predicate span at tokens {span.start}-{span.end - 1} is only whitespace"
            )
        predicates.append(words)
    return predicates


def frame_data(verb: Dict[str, Any], tokens: List[int]) -> Dict[str, Any]:
    """
    One frame of the labeler (`srl_plugin.hf.outputs.frame_result`) as plain data on the Doc:
    token spans (`start`, `end` exclusive, as spaCy's) of the predicate and of each argument,
    roles, scores, and the labeler's other keys as they are.
    """
    predicate = verb["predicate_indices"]
    frame: Dict[str, Any] = {
        "start": tokens[min(predicate)],
        "end": tokens[max(predicate)] + 1,
        "score": verb.get("score"),
    }
    frame.update((key, value) for key, value in verb.items() if key not in _FRAME_KEYS)
    arguments = []
    for argument in verb["arguments"]:
        data = {
            "role": argument["role"],
            "start": tokens[argument["start"]],
            "end": tokens[argument["end"]] + 1,
            "score": argument.get("score"),
        }
        data.update((k, v) for k, v in argument.items() if k not in _ARGUMENT_KEYS)
        arguments.append(data)
    frame["arguments"] = arguments
    return frame


def frame_spans(doc: Doc, frames: Sequence[Dict[str, Any]]) -> List[Span]:
    """Each frame's predicate span (label "V") followed by its argument spans (label = role)."""
    spans = []
    for frame in frames:
        spans.append(Span(doc, frame["start"], frame["end"], label=PREDICATE_LABEL))
        spans.extend(Span(doc, a["start"], a["end"], label=a["role"]) for a in frame["arguments"])
    return spans


def doc_frames(doc: Doc) -> List[Dict[str, Any]]:
    """
    `Doc._.srl_frames`: per frame `predicate` (a `Span` labelled "V"), `score`, `arguments`
    (each `role`, `span` (a `Span` labelled with the role) and `score`), and any other key the
    model gives (e.g. a roleset). Empty before the component ran.
    """
    frames = []
    for data in doc.user_data.get(FRAMES_KEY, []):
        frame = dict(data)
        frame["predicate"] = Span(doc, frame.pop("start"), frame.pop("end"), label=PREDICATE_LABEL)
        arguments = []
        for argument in data["arguments"]:
            argument = dict(argument)
            start, end = argument.pop("start"), argument.pop("end")
            argument["span"] = Span(doc, start, end, label=argument["role"])
            arguments.append(argument)
        frame["arguments"] = arguments
        frames.append(frame)
    return frames


def span_frames(span: Span) -> List[Dict[str, Any]]:
    """`Span._.srl_frames`: the frames whose predicate lies inside the span (a sentence's, a predicate's)."""
    return [
        frame
        for frame in doc_frames(span.doc)
        if span.start <= frame["predicate"].start and frame["predicate"].end <= span.end
    ]


def token_frames(token: Token) -> List[Dict[str, Any]]:
    """`Token._.srl_frames`: the frames whose predicate includes the token."""
    return [
        frame
        for frame in doc_frames(token.doc)
        if frame["predicate"].start <= token.i < frame["predicate"].end
    ]


_GETTERS: Dict[Any, Callable[..., Any]] = {Doc: doc_frames, Span: span_frames, Token: token_frames}
for _owner, _getter in _GETTERS.items():
    # force=True: importing again (spaCy imports its entry points whenever it builds a Language)
    # keeps these getters.
    _owner.set_extension("srl_frames", getter=_getter, force=True)
