"""
`hf_srl`: CoNLL-2012 SRL for `hf_srl` models, one instance per predicate (like allennlp-models'
`srl` reader) with its roleset, plus one predicate-identification instance per sentence.
"""

import logging
import os
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from allennlp.data import DatasetReader, Instance, Token
from allennlp.data.fields import MetadataField, SequenceLabelField, TextField
from allennlp.data.token_indexers import SingleIdTokenIndexer
from allennlp_models.common.ontonotes import Ontonotes, OntonotesSentence

from srl_plugin.archives.files import ROLESETS_NAMESPACE
from srl_plugin.archives.resolution import resolve_checkpoint
from srl_plugin.dataset_readers.optional_label_field import OptionalLabelField
from srl_plugin.hf.frames import (
    WordpieceFrame,
    config_max_wordpieces,
    sentence_frames,
    wordpiece_frame,
)
from srl_plugin.hf.labels import (
    IGNORED_LABEL,
    predicate_bio_labels,
    predicate_indices,
    predicate_spans,
)

logger = logging.getLogger(__name__)


@DatasetReader.register("hf_srl")
class HfSrlReader(DatasetReader):
    """
    Reads CoNLL-2012 files (a single `*gold_conll` file or a folder searched recursively).

    Each predicate of a sentence gives one instance with its BIO tags, exactly as allennlp-models'
    `srl` reader builds them (a sentence without predicates gives one all-`O` instance). Each
    sentence with predicates also gives one instance without a predicate indicator that trains the
    predicate-identification head (`predicate_instances`).

    For BERT, words become wordpieces as in allennlp-models (WordPiece per given word),
    lowercased when the checkpoint's tokenizer lowercases; other families split each word with
    their own `tokenizer.json` (`srl_plugin.hf.tokenization`). A sentence longer than the encoder
    (512 sub-words for BERT and RoBERTa) is cut to the widest window of words around its predicate
    that fits; words outside the window are not seen by the model and are counted as `O`; each
    cut is logged. Its predicate-identification instances cover it in consecutive windows, as the
    labeler reads it, so every gold predicate is seen by training and by the predicate metric.

    Each frame keeps its predicate's lemma and roleset (CoNLL-2012 columns 7 and 8: `have` and
    `have.03` in EWT PropBank; OntoNotes' frameset number `03` becomes `have.03`): the field
    `sense_labels` (namespace `roleset_labels`, which gives the model its sense head) and the
    metadata `lemma` and `roleset`. Predicate-identification instances and frames without a
    roleset have none (`None`, no loss); data without the roleset column (`-`) leaves the
    namespace empty, so its model has no sense head. Every instance read from files has a
    `sentence_id` in its metadata, the same for all instances of a sentence, so that a metric can
    join a sentence's frames with its predicate-identification instances whatever batches they
    land in.

    # Parameters

    bert_model : `str`
        The Hugging Face checkpoint folder whose tokenizer is used (the model's `bert_model`), of
        a supported family (BERT, RoBERTa, XLM-RoBERTa, DeBERTa-v2/v3, ELECTRA, ALBERT).
    domain_identifier : `str`, optional
        Only read files whose path contains `/<domain_identifier>/` (as allennlp-models' reader).
    predicate_instances : `bool`, optional (default = `True`)
        Add one predicate-identification instance per sentence with predicates.
    max_wordpieces : `int`, optional
        Window size for long sentences; default the encoder's `max_position_embeddings`.
    senses : `bool`, optional (default = `True`)
        Give each instance its `sense_labels` field (the frame's roleset). `False` leaves the
        field out, so the model trains no sense head whatever the data holds.
    """

    def __init__(
        self,
        bert_model: str,
        domain_identifier: Optional[str] = None,
        predicate_instances: bool = True,
        max_wordpieces: Optional[int] = None,
        senses: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            manual_distributed_sharding=True, manual_multiprocess_sharding=True, **kwargs
        )
        # An unsupported family (GPT-2, T5, ...) fails here, naming its model_type.
        checkpoint = resolve_checkpoint(bert_model, self.serialization_dir)
        self.aligner = checkpoint.aligner
        self.max_wordpieces = max_wordpieces or config_max_wordpieces(checkpoint.config)
        self.domain_identifier = domain_identifier
        self.predicate_instances = predicate_instances
        self.senses = senses
        # Ids are already set on each Token; namespace=None keeps wordpieces out of the vocabulary.
        self._token_indexers = {
            "tokens": SingleIdTokenIndexer(namespace=None, feature_name="text_id")
        }

    def _read(self, file_path: str) -> Iterable[Instance]:
        # Numbered before sharding: a sentence's instances all go to one worker, under one id.
        numbered = enumerate(self._sentences(file_path))
        for index, sentence in self.shard_iterable(numbered):
            sentence_id = f"{file_path}#{index}"
            words = sentence.words
            frames = sentence.srl_frames
            if not frames:
                yield self.text_to_instance(words, [], ["O"] * len(words), sentence_id=sentence_id)
                continue
            for _, tags in frames:
                indices = predicate_indices(tags)
                lemma, roleset = frame_sense(sentence, indices)
                yield self.text_to_instance(
                    words, indices, tags, lemma=lemma, roleset=roleset, sentence_id=sentence_id
                )
            if self.predicate_instances:
                yield from self.predicate_identification_instances(
                    words, [tags for _, tags in frames], sentence_id=sentence_id
                )

    def _sentences(self, file_path: str) -> Iterable[OntonotesSentence]:
        ontonotes = Ontonotes()
        if os.path.isfile(file_path):
            paths: Iterable[str] = [file_path]
        elif os.path.isdir(file_path):
            paths = sorted(ontonotes.dataset_path_iterator(file_path))
        else:
            raise FileNotFoundError(f"no CoNLL-2012 file or folder at {file_path}")
        for path in paths:
            if self.domain_identifier and f"/{self.domain_identifier}/" not in path:
                continue
            yield from ontonotes.sentence_iterator(path)

    def text_to_instance(  # type: ignore
        self,
        words: Sequence[str],
        predicate_indices: Optional[Sequence[int]],
        tags: Optional[Sequence[str]] = None,
        predicate_tags: Optional[Sequence[Sequence[str]]] = None,
        lemma: Optional[str] = None,
        roleset: Optional[str] = None,
        sentence_id: Optional[str] = None,
    ) -> Instance:
        """
        # Parameters

        words : `Sequence[str]`
            The sentence.
        predicate_indices : `Sequence[int]`, optional
            The words of the predicate (several for a multi-word predicate; empty for a sentence
            without one). `None` makes a predicate-identification instance, which needs the
            sentence to fit the encoder (longer ones: `predicate_identification_instances`).
        tags : `Sequence[str]`, optional
            Gold BIO tags of the frame, one per word.
        predicate_tags : `Sequence[Sequence[str]]`, optional
            For a predicate-identification instance, the BIO tags of every frame of the sentence.
        lemma, roleset : `str`, optional
            The frame's predicate lemma (`have`) and gold roleset (`have.03`).
        sentence_id : `str`, optional
            Names the sentence among those read together (metadata `sentence_id`).
        """
        if predicate_indices is None:
            instances = self.predicate_identification_instances(
                words, predicate_tags or [], sentence_id=sentence_id
            )
            if len(instances) != 1:
                raise ValueError(
                    f"a sentence of {len(words)} words needs {len(instances)} windows of "
                    f"{self.max_wordpieces} wordpieces: use predicate_identification_instances"
                )
            return instances[0]
        frame = wordpiece_frame(self.aligner, words, predicate_indices, self.max_wordpieces, tags)
        if frame.window != (0, len(words)):
            logger.warning(
                "sentence of %d words is longer than %d wordpieces; reading words %d-%d only",
                len(words),
                self.max_wordpieces,
                *frame.window,
            )
        gold_predicates: Optional[List[List[int]]] = None if predicate_indices else []
        return self._instance(
            frame,
            words,
            predicate_indices,
            tags,
            gold_predicates,
            sense=(lemma, roleset) if predicate_indices else (None, None),
            sentence_id=sentence_id,
        )

    def predicate_identification_instances(
        self,
        words: Sequence[str],
        predicate_tags: Sequence[Sequence[str]] = (),
        sentence_id: Optional[str] = None,
    ) -> List[Instance]:
        """
        The predicate-identification instances of a sentence (no predicate marked), one per
        window of `sentence_frames`: every word is in exactly one. `predicate_tags` are the BIO
        tags of the sentence's gold frames; each instance's gold predicates are those that start
        in its window.
        """
        word_labels = predicate_bio_labels(len(words), predicate_tags)
        predicates = predicate_spans(word_labels)
        return [
            self._instance(
                frame,
                words,
                None,
                word_labels=word_labels,
                gold_predicates=[
                    p for p in predicates if frame.window[0] <= p[0] < frame.window[1]
                ],
                sentence_id=sentence_id,
            )
            for frame in sentence_frames(self.aligner, words, self.max_wordpieces)
        ]

    def _instance(
        self,
        frame: WordpieceFrame,
        words: Sequence[str],
        predicate_indices: Optional[Sequence[int]],
        tags: Optional[Sequence[str]] = None,
        gold_predicates: Optional[List[List[int]]] = None,
        word_labels: Optional[List[int]] = None,
        sense: Tuple[Optional[str], Optional[str]] = (None, None),
        sentence_id: Optional[str] = None,
    ) -> Instance:
        tokens = [Token(str(i), text_id=i) for i in frame.input_ids]
        text_field = TextField(tokens, token_indexers=self._token_indexers)
        is_frame = predicate_indices is not None
        predicate_labels = [IGNORED_LABEL] * len(tokens)
        if gold_predicates is not None:
            # A frame without a predicate (a sentence without any) teaches "no predicate here".
            for word, offset in frame.word_offsets():
                predicate_labels[offset] = word_labels[word] if word_labels else 0
        metadata: Dict[str, Any] = {
            "words": list(words),
            "verb": " ".join(words[i] for i in predicate_indices) if predicate_indices else None,
            "verb_index": predicate_indices[0] if predicate_indices else None,
            "predicate_indices": list(predicate_indices or []),
            "frame": frame,
            "num_wordpieces": len(frame.input_ids),
            "is_frame": is_frame,
            "gold_predicates": gold_predicates,
            "lemma": sense[0],
            "roleset": sense[1],
            "sentence_id": sentence_id,
        }
        fields: Dict[str, Any] = {
            "tokens": text_field,
            "verb_indicator": SequenceLabelField(frame.token_type_ids, text_field),
            "predicate_labels": SequenceLabelField(predicate_labels, text_field),
        }
        if tags is not None:
            fields["tags"] = SequenceLabelField(frame.wordpiece_tags, text_field, "labels")
            metadata["gold_tags"] = list(tags)
        elif not is_frame:
            fields["tags"] = SequenceLabelField(["O"] * len(tokens), text_field, "labels")
            metadata["gold_tags"] = ["O"] * len(words)
        if self.senses:
            fields["sense_labels"] = OptionalLabelField(sense[1], ROLESETS_NAMESPACE)
        fields["metadata"] = MetadataField(metadata)
        return Instance(fields)

    def apply_token_indexers(self, instance: Instance) -> None:
        instance.fields["tokens"].token_indexers = self._token_indexers  # type: ignore


def frame_sense(
    sentence: OntonotesSentence, predicate: Sequence[int]
) -> Tuple[Optional[str], Optional[str]]:
    """
    The lemma and roleset of a frame's predicate (its word indices): those of its first word
    with a roleset, else `(lemma of its first word, None)`. EWT PropBank's column 8 is the
    roleset id (`have.03`); OntoNotes' is the frameset number (`03`), joined to the lemma here.
    """
    lemmas, rolesets = sentence.predicate_lemmas, sentence.predicate_framenet_ids
    for word in predicate:
        roleset = rolesets[word]
        if roleset is not None:
            lemma = lemmas[word]
            if "." not in roleset and lemma is not None:
                roleset = f"{lemma}.{roleset}"
            return lemma, roleset
    return (lemmas[predicate[0]] if predicate else None), None
