"""The JSON of a labelled frame, as allennlp-models' predictor writes it (plus spans)."""

from typing import Any, Dict, List, Sequence

from srl_plugin.hf.labels import PREDICATE_ROLE, bio_tags_to_spans, make_srl_string


def frame_result(words: Sequence[str], predicate: Sequence[int], tags: List[str]) -> Dict[str, Any]:
    """One entry of `"verbs"`: the predicate, its tags, description and arguments as spans."""
    arguments = [
        {"role": role, "start": start, "end": end, "text": " ".join(words[start : end + 1])}
        for role, start, end in bio_tags_to_spans(tags)
        if role != PREDICATE_ROLE
    ]
    return {
        "verb": " ".join(words[i] for i in predicate),
        "predicate_indices": list(predicate),
        "description": make_srl_string(words, tags),
        "tags": tags,
        "arguments": arguments,
    }
