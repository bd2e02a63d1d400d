"""
`OptionalLabelField`: a `LabelField` whose label may be missing (a frame without a roleset, an
instance that has no such label at all), indexed as transformers' ignore index so that it carries
no loss.
"""

from typing import Dict, Optional

import torch
from allennlp.data import Vocabulary
from allennlp.data.fields import LabelField

from srl_plugin.hf.labels import IGNORED_LABEL


class OptionalLabelField(LabelField):
    """
    A string label, or `None`. `None` is not counted into the vocabulary and is indexed as
    `IGNORED_LABEL` (-100), as is a label the vocabulary does not know (a roleset seen only in
    test data, whose namespace has no OOV token): cross entropy with `ignore_index=-100`, or a
    mask of `!= -100`, then leaves the instance out.

    # Parameters

    label : `Optional[str]`
        The label.
    label_namespace : `str`
        Its vocabulary namespace; end it in `labels` so that it gets no padding or OOV token.
    """

    __slots__: list = []

    def __init__(self, label: Optional[str], label_namespace: str) -> None:
        if label is None:
            # LabelField takes no None: a skipped index stands for "no label" until `index`.
            super().__init__(IGNORED_LABEL, label_namespace, skip_indexing=True)
            self.label = None  # type: ignore[misc,assignment]
        else:
            super().__init__(label, label_namespace)

    def count_vocab_items(self, counter: Dict[str, Dict[str, int]]) -> None:
        if self.label is not None:
            counter[self._label_namespace][self.label] += 1  # type: ignore[index]

    def index(self, vocab: Vocabulary) -> None:
        if self.label is None:
            return
        # Looked up without `get_token_index`, which raises for an unknown label in a namespace
        # without an OOV token, and without creating the namespace where there is none.
        known = (
            vocab.get_token_to_index_vocabulary(self._label_namespace)
            if self._label_namespace in vocab.get_namespaces()
            else {}
        )
        self._label_id = known.get(self.label, IGNORED_LABEL)  # type: ignore[call-overload]

    def as_tensor(self, padding_lengths: Dict[str, int]) -> torch.Tensor:
        return torch.tensor(self._label_id, dtype=torch.long)  # type: ignore[has-type]

    def empty_field(self) -> "OptionalLabelField":
        return OptionalLabelField(None, self._label_namespace)

    def __str__(self) -> str:
        return (
            f"OptionalLabelField with label: {self.label} in namespace: '{self._label_namespace}'."
        )
