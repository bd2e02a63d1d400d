"""
What an export answers by a plain forward, computed in the test, to compare the labeler and
`allennlp predict` with. The sub-words come from the export's own tokenizer (`AutoTokenizer`, not
the plugin's aligner), one sentence at a time (no batching, windows or sorting), and the logits
are read here: the predicate head's by argmax, the tagger's through the plugin's BIO decoder.

Tests of tiny trained models compare with this instead of with tags a model happens to learn:
what a few epochs teach a tiny model depends on the CPU's floating-point arithmetic.
"""

from typing import List, Sequence, Tuple

import torch
from transformers import AutoTokenizer

from srl_plugin.hf import AutoModelForSemanticRoleLabeling
from srl_plugin.hf.labels import predicate_spans
from srl_plugin.hf.tagging import decode_tags


class PlainForward:
    """An export's model and tokenizer, loaded with the Auto classes."""

    def __init__(self, export: str) -> None:
        self.tokenizer = AutoTokenizer.from_pretrained(export)
        self.model = AutoModelForSemanticRoleLabeling.from_pretrained(export).eval()
        config = self.model.config
        self.labels = [config.id2label[i] for i in range(config.num_labels)]

    def _encode(
        self, words: Sequence[str], predicate: Sequence[int] = ()
    ) -> Tuple[torch.Tensor, torch.Tensor, List[int]]:
        # Shape: (1, num_wordpieces) each; and the position of each word's first sub-word.
        encoded = self.tokenizer(list(words), is_split_into_words=True, return_tensors="pt")
        word_ids = encoded.word_ids()
        first = [word_ids.index(word) for word in range(len(words))]
        marked = [int(word is not None and word in predicate) for word in word_ids]
        return encoded["input_ids"], torch.tensor([marked]), first

    def predicates(self, words: Sequence[str]) -> List[List[int]]:
        """The predicates (word indices) of the head's argmax at each word's first sub-word."""
        input_ids, _, first = self._encode(words)
        with torch.no_grad():
            # Shape: (num_wordpieces, 3)
            logits = self.model(input_ids=input_ids).predicate_logits[0]
        return predicate_spans(logits[first].argmax(-1).tolist())

    def frame(self, words: Sequence[str], predicate: Sequence[int]) -> Tuple[List[str], float]:
        """
        The tags of the frame (each word's first sub-word's, on the decoded path) and its score:
        the mean softmax probability of those tags.
        """
        input_ids, token_type_ids, first = self._encode(words, predicate)
        with torch.no_grad():
            # Shape: (1, num_wordpieces, num_labels)
            logits = self.model(input_ids=input_ids, token_type_ids=token_type_ids).logits
        path = decode_tags(logits, [input_ids.size(1)], self.labels)[0]
        probabilities = logits[0].softmax(-1)
        tags = [self.labels[path[i]] for i in first]
        score = sum(probabilities[i, path[i]].item() for i in first) / len(first)
        return tags, score
