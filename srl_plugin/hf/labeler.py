"""
`SemanticRoleLabeler`: SRL frames for raw sentences from an export, without AllenNLP.

It is also the engine of the AllenNLP `hf_srl` predictor, the pipeline, `srl-label` and Ray:
batching across predicates and sentences (sorted by length, so batches carry little padding)
lives here; each head's output path lives in the module named after it (`tagging`,
`predicates`), the alignment and windowing in `frames`, what runs the model's arithmetic (torch
or ONNX Runtime, fp32 or int8, threads) in `runtimes`.
"""

import itertools
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import torch
from transformers import PreTrainedModel

from srl_plugin.hf.frames import (
    WordpieceFrame,
    config_max_wordpieces,
    sentence_frames,
    wordpiece_frame,
)
from srl_plugin.hf.inputs import Item, Request, parse_item
from srl_plugin.hf.outputs import frame_result, sentence_result
from srl_plugin.hf.predicates import PredicateLabels
from srl_plugin.hf.runtimes import (
    OnnxRuntimeRunner,
    TorchRunner,
    check_runtime,
    import_onnxruntime,
    precision_of,
    set_threads,
)
from srl_plugin.hf.senses import Sense, SenseDecoder
from srl_plugin.hf.tagging import FrameTags, tag_frames
from srl_plugin.hf.tokenization import Aligner

# Shared encodings of sentence windows (fused models), keyed by the window's input ids:
# tensors of shape (num_wordpieces, hidden_size).
SharedEncodings = Dict[Tuple[int, ...], torch.Tensor]

# The most sub-words a frame of a segmented sentence reads (`Request.segmented`): where a
# segmenter missed boundaries, a "sentence" may be a paragraph, and each of its frames would
# read all of it. 48 sub-words around the predicate (most EWT sentences are shorter) make
# documents as fast as gold sentences a line, at about the same span F1 (benchmarks/README.md
# "Documents"; 128 left documents at 0.85 of their speed).
DEFAULT_SEGMENT_WINDOW = 48

# Items per chunk of `label_stream`: about 2,500 frames of EWT-like text, enough for sorting by
# length to remove most padding, small enough to keep memory flat.
DEFAULT_CHUNK_SIZE = 1024

NO_PREDICATE_HEAD = (
    "this model has no predicate-identification head (it was converted from an allennlp-models "
    "srl_bert archive, or trained with predicate_head=false), so it cannot find predicates in a "
    'raw sentence: give them as word indices, e.g. {"sentence": "The cat sat .", '
    '"predicates": [2]} or {"tokens": ["The", "cat", "sat", "."], "predicates": [2]}'
)


def check_segment_window(segment_window: Optional[int]) -> None:
    """
    Raises `ValueError` for a segment window (see `SemanticRoleLabeler`) that cannot hold
    `[CLS]`, one sub-word and `[SEP]`; `None` (whole sentences) is valid.
    """
    if segment_window is not None and segment_window < 3:
        raise ValueError(
            f"segment_window must be at least 3 sub-words (or none: whole sentences), not "
            f"{segment_window}"
        )


class SemanticRoleLabeler:
    """
    Labels sentences with SRL frames.

    # Parameters

    model : `PreTrainedModel`
        The model (from an export, or an AllenNLP `hf_srl` model's `hf_model`).
    aligner : `Aligner`
        Its tokenizer.
    device : `str` or `torch.device`, optional
        Where to run; default the model's device.
    batch_size : `int`, optional (default = `64`)
        Frames (sentence, predicate pairs) per forward pass.
    autocast_dtype : `torch.dtype`, optional
        `torch.bfloat16` or `torch.float16` to run the encoder under autocast on a GPU (the
        same as `precision="bf16"` / `"fp16"`). Decoding always runs in float32.
    runtime : `str`, optional (default = `"torch"`)
        `torch`, or `onnxruntime` to run the ONNX form in `onnx_folder` (`srl-onnx`; the
        `onnx` extra): `model` then only tells its config, labels and heads.
    precision : `str`, optional (default = `"fp32"`)
        `fp32`; `int8` on CPU (torch: the model's linear layers are quantized in place; ONNX
        Runtime: the int8 graphs); `bf16` / `fp16` under autocast on a GPU (torch).
    threads : `int`, optional
        CPU threads: torch's (`torch.set_num_threads`, process-wide) and ONNX Runtime's
        intra-op threads; default each library's own choice.
    onnx_folder : `str`, optional
        The export's `onnx/` folder, for `runtime="onnxruntime"` (`from_pretrained` finds it).
    segment_window : `int`, optional (default = `48`)
        In sentences whose boundaries a segmenter found (documents, spaCy Docs), each frame reads
        at most this many sub-words around its predicate (`frames.predicate_window`, as for
        sentences longer than the encoder); `None` reads the whole sentence. Sentences given one
        a line are always read whole.
    senses : `bool`, optional (default = `True`)
        With a model that has a sense head, give each frame its predicate's roleset and each
        argument its role's meaning (`srl_plugin.hf.senses`); `False` leaves them out.
    """

    def __init__(
        self,
        model: PreTrainedModel,
        aligner: Aligner,
        device: Optional[Union[str, torch.device]] = None,
        batch_size: int = 64,
        autocast_dtype: Optional[torch.dtype] = None,
        runtime: str = "torch",
        precision: Optional[str] = None,
        threads: Optional[int] = None,
        onnx_folder: Optional[str] = None,
        segment_window: Optional[int] = DEFAULT_SEGMENT_WINDOW,
        senses: bool = True,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, not {batch_size}")
        check_segment_window(segment_window)
        if precision is None:
            precision = precision_of(autocast_dtype)
        elif autocast_dtype is not None and precision != precision_of(autocast_dtype):
            raise ValueError(f"autocast_dtype {autocast_dtype} contradicts precision {precision}")
        self.model = model
        self.aligner = aligner
        self.batch_size = batch_size
        self.runtime = runtime
        self.precision = precision
        self.max_wordpieces = config_max_wordpieces(model.config)
        self.segment_window = segment_window
        self.sense_decoder = SenseDecoder.of(model) if senses else None
        self.runner: Union[TorchRunner, OnnxRuntimeRunner]
        if runtime == "onnxruntime":
            check_runtime(runtime, precision, torch.device(device or "cpu").type)
            if onnx_folder is None:
                raise ValueError("runtime onnxruntime needs the export's onnx_folder (srl-onnx)")
            from srl_plugin.hf.checkpoints.onnx_export import read_manifest_file

            manifest = read_manifest_file(onnx_folder, precision)
            set_threads(threads)
            self.runner = OnnxRuntimeRunner(
                onnx_folder, manifest, precision, threads, str(device or "cpu")
            )
        else:
            target = torch.device(device) if device is not None else self.model_device
            check_runtime(runtime, precision, target.type)
            if device is not None:
                self.model.to(device)
            set_threads(threads)
            self.runner = TorchRunner(model, precision)

    @classmethod
    def from_pretrained(
        cls,
        directory: str,
        device: Optional[Union[str, torch.device]] = None,
        batch_size: int = 64,
        autocast_dtype: Optional[torch.dtype] = None,
        runtime: str = "torch",
        precision: Optional[str] = None,
        threads: Optional[int] = None,
        segment_window: Optional[int] = DEFAULT_SEGMENT_WINDOW,
        senses: bool = True,
    ) -> "SemanticRoleLabeler":
        """
        Loads an export folder written by the plugin (the callback or `srl-export`); with
        `runtime="onnxruntime"`, its ONNX form (`srl-onnx`), without reading the torch weights.
        """
        from srl_plugin.hf.checkpoints.export import read_aligner, read_export
        from srl_plugin.hf.checkpoints.hub import resolve_model_dir

        directory = resolve_model_dir(directory)
        precision = precision or precision_of(autocast_dtype)
        check_runtime(runtime, precision, torch.device(device or "cpu").type)
        folder = None
        if runtime == "onnxruntime":
            from srl_plugin.hf.checkpoints.onnx_export import (
                onnx_folder,
                onnx_model_skeleton,
                read_manifest,
            )

            import_onnxruntime()  # a missing extra first: `srl-onnx` would need it too
            model = onnx_model_skeleton(directory, read_manifest(directory, precision))
            aligner = read_aligner(directory)
            folder = onnx_folder(directory)
        else:
            model, aligner = read_export(directory)
        return cls(
            model,
            aligner,
            device,
            batch_size,
            autocast_dtype,
            runtime,
            precision,
            threads,
            folder,
            segment_window,
            senses,
        )

    @property
    def model_device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def device(self) -> torch.device:
        """Where the labeler's input tensors go: the model's device (CPU for ONNX Runtime)."""
        return self.runner.device

    def predict(self, item: Item) -> Dict[str, Any]:
        """The frames of one item (see `parse_item`): `{"words": [...], "verbs": [...]}`."""
        return self.predict_batch([item])[0]

    def predict_batch(
        self, items: Sequence[Item], raise_errors: bool = True
    ) -> List[Dict[str, Any]]:
        """
        The frames of many items, batched together (all of them sorted by length at once: for
        inputs too large to hold in memory, use `label_stream`).

        Each verb entry has `verb`, `description` and `tags` as in allennlp-models' predictor,
        plus `predicate_indices`, `score` (see `srl_plugin.hf.outputs`) and `arguments` (`role`,
        `start`, `end` (inclusive word indices), `text`, `score`). For a raw sentence, the
        result also has `word_offsets` (`[start, end]` character offsets of each word) and the
        verb and each argument `char_start`/`char_end`. Items without `predicates` get the
        predicates found by the model's predicate-identification head.

        With `raise_errors=False`, a bad item gives `{"error": "..."}` in its place and the others
        are still labelled; otherwise the first bad item raises `ValueError` naming its position.
        """
        return self._label_chunk(items, raise_errors)

    def label_stream(
        self, items: Iterable[Item], chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> Iterator[Dict[str, Any]]:
        """
        Labels an iterable of items of any length, yielding one result per item, in order, as
        `predict_batch(raise_errors=False)` would (a bad item yields `{"error": "..."}`).

        Items are read `chunk_size` at a time; the frames of a chunk are sorted by length before
        batching, so a chunk of many sentences carries little padding, and memory holds one chunk
        whatever the input's size.
        """
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be positive, not {chunk_size}")
        iterator = iter(items)
        while True:
            chunk = list(itertools.islice(iterator, chunk_size))
            if not chunk:
                return
            yield from self._label_chunk(chunk, raise_errors=False)

    def _label_chunk(self, items: Sequence[Item], raise_errors: bool) -> List[Dict[str, Any]]:
        # The one batching engine behind predict_batch and label_stream.
        requests: List[Optional[Request]] = []
        results: List[Dict[str, Any]] = []
        for position, item in enumerate(items):
            try:
                request = parse_item(item)
                if request.predicates is None and self.model.predicate_classifier is None:
                    raise ValueError(NO_PREDICATE_HEAD)
            except ValueError as error:
                if raise_errors:
                    raise ValueError(f"item {position}: {error}") from None
                requests.append(None)
                results.append({"error": str(error)})
            else:
                requests.append(request)
                results.append({})
        valid = [i for i, request in enumerate(requests) if request is not None]
        labelled = self.label_requests([requests[i] for i in valid])  # type: ignore[misc]
        for i, result in zip(valid, labelled):
            results[i] = result
        return results

    def label_requests(
        self, requests: Sequence[Request], shared: Optional[SharedEncodings] = None
    ) -> List[Dict[str, Any]]:
        """
        The results of validated requests (`srl_plugin.hf.inputs.parse_item`), all batched
        together: predicates found where a request has none, then every frame labelled. With a
        fused model, `shared` may hold sentence windows' shared encodings already computed
        (keyed by the window's input ids, as `find_predicates` keeps them).
        """
        results = [sentence_result(r.words, r.offsets) for r in requests]
        need_predicates = [r for r in requests if r.predicates is None]
        # With a fused model, the sentences' shared encodings from predicate identification are
        # kept for labelling their frames, so the lower layers run once per sentence (for a
        # sentence longer than the encoder, each frame's window is centred on its predicate and
        # differs from the identification windows, so it is encoded once per distinct window).
        if shared is None and self.model.predicate_fusion_layer:
            shared = {}
        if need_predicates:
            found = self.find_predicates([r.words for r in need_predicates], shared)
            for needing, predicates in zip(need_predicates, found):
                needing.predicates = predicates
        frames = [(i, r, p) for i, r in enumerate(requests) for p in r.predicates or []]
        windows = [self._window(r) for _, r, _ in frames]
        word_frames = [(r.words, p) for _, r, p in frames]
        tagged = self.score_frames(word_frames, shared, windows)
        senses = self.frame_senses(word_frames, [tags.sense_logits for tags in tagged])
        for (i, framed, predicate), tags, sense in zip(frames, tagged, senses):
            results[i]["verbs"].append(
                frame_result(
                    framed.words,
                    predicate,
                    tags.tags,
                    tags.probabilities,
                    framed.offsets,
                    framed.text,
                    sense,
                )
            )
        return results

    def frame_senses(
        self,
        frames: Sequence[Tuple[Sequence[str], Sequence[int]]],
        sense_logits: Sequence[Optional[torch.Tensor]],
    ) -> List[Optional[Sense]]:
        """
        The sense of each (words, predicate word indices) frame from its sense head's scores
        (`srl_plugin.hf.senses.SenseDecoder`, the predicate's words lemmatized); `None` for
        every frame where the model has no sense head or `senses` is off.
        """
        if self.sense_decoder is None or not frames or any(s is None for s in sense_logits):
            return [None] * len(frames)
        predicates = [" ".join(words[i] for i in predicate) for words, predicate in frames]
        # Shape: (num_frames, num_rolesets)
        scores = torch.stack([s for s in sense_logits if s is not None])
        return list(self.sense_decoder.decode(scores, predicates))

    def find_predicates(
        self, sentences: Sequence[Sequence[str]], shared: Optional[SharedEncodings] = None
    ) -> List[List[List[int]]]:
        """
        The predicates (lists of word indices) that the predicate head finds in each sentence.
        With a fused model and a `shared` dict, the windows' shared encodings are kept there.
        """
        if self.model.predicate_classifier is None:
            raise ValueError(NO_PREDICATE_HEAD)
        windows = [
            (index, frame)
            for index, words in enumerate(sentences)
            for frame in sentence_frames(self.aligner, words, self.max_wordpieces)
        ]
        found = PredicateLabels([len(words) for words in sentences])
        # Each batch (longest first) is cut where its windows, padded to its longest, would pass
        # `batch_size` x 64 sub-words: a segmenter's missed boundaries can make one "sentence" of
        # 500 sub-words (a run of URLs) that would pad 63 short ones to its length.
        budget = self.batch_size * 64
        parts = []
        for batch in self.batches([frame for _, frame in windows]):
            while batch:
                rows = max(1, budget // len(batch[0][1].input_ids))
                parts.append(batch[:rows])
                batch = batch[rows:]
        for batch in parts:
            batch_frames = [frame for _, frame in batch]
            if self.model.predicate_fusion_layer:
                encodings, predicate_logits = self.encode(batch_frames)
                if shared is not None:
                    for frame, encoding in zip(batch_frames, encodings):
                        shared[tuple(frame.input_ids)] = encoding[: len(frame.input_ids)]
            else:
                predicate_logits = self.forward(batch_frames).predicate_logits
            assert predicate_logits is not None  # the model has a head (checked above)
            found.add(predicate_logits, batch_frames, (windows[i][0] for i, _ in batch))
        return found.predicates()

    def label_frames(
        self, frames: Sequence[Tuple[Sequence[str], Sequence[int]]]
    ) -> List[List[str]]:
        """BIO tags per word for each (words, predicate word indices) frame."""
        return [tags.tags for tags in self.score_frames(frames)]

    def _window(self, request: Request) -> int:
        # The most sub-words one frame of `request` reads.
        if request.segmented and self.segment_window is not None:
            return min(self.segment_window, self.max_wordpieces)
        return self.max_wordpieces

    def score_frames(
        self,
        frames: Sequence[Tuple[Sequence[str], Sequence[int]]],
        shared: Optional[SharedEncodings] = None,
        windows: Optional[Sequence[int]] = None,
    ) -> List[FrameTags]:
        """
        Each (words, predicate word indices) frame's tags, their probabilities and, with a sense
        head, its `sense_logits`; each frame reads at most its `windows` sub-words (default the
        encoder's limit). A fused model reuses the sentences' encodings in `shared` and encodes
        the others once.
        """
        inputs = [
            wordpiece_frame(
                self.aligner,
                words,
                predicate,
                self.max_wordpieces if windows is None else windows[index],
                limit=self.max_wordpieces,
            )
            for index, (words, predicate) in enumerate(frames)
        ]
        tagged: List[Any] = [None] * len(inputs)
        for batch in self.batches(inputs):
            batch_frames = [frame for _, frame in batch]
            if self.model.predicate_fusion_layer:
                output = self._label_fused(batch_frames, {} if shared is None else shared)
            else:
                output = self.forward(batch_frames)
            num_words = [len(frames[index][0]) for index, _ in batch]
            batch_tags = tag_frames(output.logits, batch_frames, num_words, self.model.labels)
            sense_logits = output.sense_logits
            if sense_logits is not None:
                sense_logits = sense_logits.detach().float().cpu()
            for row, ((index, _), tags) in enumerate(zip(batch, batch_tags)):
                if sense_logits is not None:
                    tags.sense_logits = sense_logits[row]
                tagged[index] = tags
        return tagged

    def batches(
        self, frames: Sequence[WordpieceFrame]
    ) -> Iterator[List[Tuple[int, WordpieceFrame]]]:
        """
        `(index, frame)` pairs in batches of `batch_size`, sorted by length so that batches
        carry little padding; longest first, so the first batch shows at once whether memory
        suffices.
        """
        order = sorted(range(len(frames)), key=lambda i: -len(frames[i].input_ids))
        for begin in range(0, len(order), self.batch_size):
            yield [(i, frames[i]) for i in order[begin : begin + self.batch_size]]

    def _label_fused(self, frames: Sequence[WordpieceFrame], shared: SharedEncodings) -> Any:
        # The frames' BIO logits and sense logits from their sentences' shared encodings,
        # encoding the missing sentences (once each) first.
        keys = [tuple(frame.input_ids) for frame in frames]
        missing = {key: frame for key, frame in zip(keys, frames) if key not in shared}
        if missing:
            encodings, _ = self.encode(list(missing.values()))
            for key, encoding in zip(missing, encodings):
                shared[key] = encoding[: len(key)]
        input_ids, attention_mask, token_type_ids = self.tensors(frames)
        rows = torch.zeros(
            input_ids.shape + (self.model.config.hidden_size,),
            dtype=shared[keys[0]].dtype,
            device=self.device,
        )
        for row, key in enumerate(keys):
            rows[row, : len(key)] = shared[key]
        return self.runner.label(rows, attention_mask, token_type_ids)

    def tensors(
        self, frames: Sequence[WordpieceFrame]
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Padded input ids, attention mask and predicate indicator, on the model's device."""
        length = max(len(frame.input_ids) for frame in frames)
        input_ids = torch.full((len(frames), length), self.aligner.pad_id, dtype=torch.long)
        token_type_ids = torch.zeros((len(frames), length), dtype=torch.long)
        attention_mask = torch.zeros((len(frames), length), dtype=torch.long)
        for row, frame in enumerate(frames):
            size = len(frame.input_ids)
            input_ids[row, :size] = torch.tensor(frame.input_ids)
            token_type_ids[row, :size] = torch.tensor(frame.token_type_ids)
            attention_mask[row, :size] = 1
        device = self.device
        return input_ids.to(device), attention_mask.to(device), token_type_ids.to(device)

    def encode(self, frames: Sequence[WordpieceFrame]) -> Tuple[torch.Tensor, Any]:
        """
        A fused model's shared encodings and predicate logits of sentence windows
        (`fusion.encode_sentences`), by the labeler's runtime and precision, without gradients.
        """
        input_ids, attention_mask, _ = self.tensors(frames)
        return self.runner.encode(input_ids, attention_mask)

    def forward(self, frames: Sequence[WordpieceFrame]) -> Any:
        """
        The model's output (`logits`, `predicate_logits`) on one batch of frames, padded by
        `tensors`, by the labeler's runtime and precision, without gradients.
        """
        return self.runner.forward(*self.tensors(frames))

    def label_documents(
        self, documents: Iterable[Any], chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> Iterator[Dict[str, Any]]:
        """
        Labels documents of any length (text strings, or records `{"id": ..., "text": ...}`
        whose other fields are kept), yielding one result per document, in order: `{"id": ...,
        "sentences": [{"start", "end", "words", "word_offsets", "verbs"}, ...]}` with every
        offset into the document, or `{"id": ..., "error": "..."}` for a bad one. Sentences are
        labelled `chunk_size` at a time across documents; a string's id is its 1-based position.
        See `srl_plugin.hf.documents`, whose `label_document_pieces` streams a document's result
        in pieces instead of holding it whole.
        """
        from srl_plugin.hf.documents import label_documents

        return label_documents(self, documents, chunk_size)
