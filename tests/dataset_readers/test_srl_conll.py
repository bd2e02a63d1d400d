"""
The `hf_srl` reader: one window policy for long sentences, shared with the labeler; each frame's
lemma and roleset.
"""

from types import SimpleNamespace

from allennlp.data import Vocabulary

from srl_plugin.dataset_readers.srl_conll import HfSrlReader, frame_sense
from srl_plugin.hf.frames import sentence_frames
from srl_plugin.hf.labels import predicate_bio_labels, predicate_spans
from tests import EWT_SAMPLE, SENSES_FIXTURE


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


def _senses(instances):
    return [
        (
            i["metadata"]["verb"],
            i["metadata"]["lemma"],
            i["metadata"]["roleset"],
            i["sense_labels"].label,
        )
        for i in instances
    ]


def test_frames_keep_their_lemma_and_roleset(senses_bert):
    reader = HfSrlReader(bert_model=senses_bert)
    instances = list(reader.read(str(SENSES_FIXTURE)))
    frames = [i for i in instances if i["metadata"]["is_frame"]]
    windows = [i for i in instances if not i["metadata"]["is_frame"]]
    assert _senses(frames[:3]) == [
        ("runs", "run", "run.01", "run.01"),
        ("runs", "run", "run.02", "run.02"),
        ("run", "run", "run.01", "run.01"),
    ]
    # A frame whose roleset column is "-" keeps its lemma and has no sense label; so has the
    # all-O instance of the sentence without predicates.
    assert ("said", "say", None, None) in _senses(frames)
    assert (None, None, None, None) in _senses(frames)
    # Predicate-identification instances have no sense.
    assert windows and {s[1:] for s in _senses(windows)} == {(None, None, None)}
    # All instances of a sentence share its id, no two sentences do.
    ids = {}
    for instance in instances:
        metadata = instance["metadata"]
        ids.setdefault(metadata["sentence_id"], set()).add(tuple(metadata["words"]))
    assert len(ids) == 12 and all(len(words) == 1 for words in ids.values())


def test_rolesets_namespace_and_indices(senses_bert):
    reader = HfSrlReader(bert_model=senses_bert)
    instances = list(reader.read(str(SENSES_FIXTURE)))
    vocab = Vocabulary.from_instances(instances)
    rolesets = vocab.get_token_to_index_vocabulary("roleset_labels")
    # Not padded, no "no roleset" entry: exactly the rolesets of the data, most frequent first.
    assert rolesets == {"run.02": 0, "run.01": 1, "have.03": 2, "have.01": 3, "see.01": 4}
    for instance in instances:
        instance.index_fields(vocab)
        label = instance["sense_labels"].label
        expected = rolesets[label] if label is not None else -100
        assert instance["sense_labels"].as_tensor({}).item() == expected
    # A roleset the vocabulary does not know (test data) carries no loss rather than failing.
    unknown = reader.text_to_instance(["She", "jogs"], [1], ["B-ARG0", "B-V"], roleset="jog.01")
    unknown.index_fields(vocab)
    assert unknown["sense_labels"].as_tensor({}).item() == -100


def test_data_without_rolesets_or_with_senses_off_gives_no_rolesets(senses_bert, tmp_path):
    # The fixture with column 8 blanked, as CoNLL-2012 data without rolesets has it.
    blank = tmp_path / "no_rolesets.gold_conll"
    lines = (SENSES_FIXTURE / "senses.gold_conll").read_text().splitlines()
    blank.write_text(
        "\n".join(
            "\t".join(c if n != 7 else "-" for n, c in enumerate(line.split("\t")))
            for line in lines
        )
        + "\n"
    )
    reader = HfSrlReader(bert_model=senses_bert)
    vocab = Vocabulary.from_instances(reader.read(str(blank)))
    assert "roleset_labels" not in vocab.get_namespaces()
    off = HfSrlReader(bert_model=senses_bert, senses=False)
    instances = list(off.read(str(SENSES_FIXTURE)))
    assert all("sense_labels" not in i.fields for i in instances)
    assert "roleset_labels" not in Vocabulary.from_instances(instances).get_namespaces()


def test_ontonotes_frameset_numbers_become_roleset_ids():
    sentence = SimpleNamespace(
        predicate_lemmas=[None, "run", "have", None],
        predicate_framenet_ids=[None, "02", "have.03", None],
    )
    assert frame_sense(sentence, [1]) == ("run", "run.02")  # OntoNotes: the frameset number
    assert frame_sense(sentence, [2]) == ("have", "have.03")  # EWT: the roleset id
    assert frame_sense(sentence, [0, 1]) == ("run", "run.02")  # the word that has one
    assert frame_sense(sentence, [3]) == (None, None)
