"""The `hf_srl` reader: one window policy for long sentences, shared with the labeler."""

from srl_plugin.dataset_readers.srl_conll import HfSrlReader
from srl_plugin.hf.frames import sentence_frames
from srl_plugin.hf.labels import predicate_bio_labels, predicate_spans
from tests import EWT_SAMPLE


def test_predicate_instances_cover_long_sentences_in_the_labelers_windows(tiny_bert):
    # 24 wordpieces: most sample sentences need several windows.
    reader = HfSrlReader(bert_model=tiny_bert, max_wordpieces=24)
    sentences = []  # the instances of each sentence, in reading order: frames, then windows
    for instance in reader.read(str(EWT_SAMPLE)):
        metadata = instance["metadata"]
        previous = sentences[-1][-1] if sentences else None
        if (
            previous is None
            or previous["words"] != metadata["words"]
            or (metadata["is_frame"] and not previous["is_frame"])
        ):
            sentences.append([])
        sentences[-1].append(metadata)
    windowed = 0
    for instances in sentences:
        words = instances[0]["words"]
        frames = [m for m in instances if m["is_frame"] and m["predicate_indices"]]
        windows = [m for m in instances if not m["is_frame"]]
        if not frames:
            continue
        # Exactly the labeler's windows, covering every word once.
        expected = [f.window for f in sentence_frames(reader.aligner, words, 24)]
        assert [m["frame"].window for m in windows] == expected
        assert sum(end - start for start, end in expected) == len(words)
        # Every gold predicate is in exactly one window, so the metric can find all of them.
        gold = [tuple(p) for m in windows for p in m["gold_predicates"]]
        assert len(gold) == len(set(gold))
        labels = predicate_bio_labels(len(words), [m["gold_tags"] for m in frames])
        assert set(gold) == {tuple(p) for p in predicate_spans(labels)}
        windowed += len(windows) > 1
    assert windowed > 20


def test_predicate_labels_follow_each_window(tiny_bert):
    reader = HfSrlReader(bert_model=tiny_bert, max_wordpieces=24)
    words = "I said that she wanted to leave before they arrived at the station near the old mill".split()
    tags = [["O"] * len(words) for _ in range(3)]
    for frame_tags, verb in zip(tags, (1, 4, 15)):
        frame_tags[verb] = "B-V"
    instances = reader.predicate_identification_instances(words, tags)
    assert len(instances) > 1
    found = []
    for instance in instances:
        frame = instance["metadata"]["frame"]
        labels = instance["predicate_labels"].labels
        for word, offset in frame.word_offsets():
            if labels[offset] == 1:
                found.append(word)
        assert instance["metadata"]["gold_predicates"] == [
            [v] for v in (1, 4, 15) if frame.window[0] <= v < frame.window[1]
        ]
    assert found == [1, 4, 15]
