"""The `semantic-role-labeling` pipeline: the labeler's frames, with the pipeline's batching."""

import pytest

from srl_plugin.hf.frames import sentence_frames
from srl_plugin.hf.labeler import SemanticRoleLabeler
from tests.hf.tiny_export import make_tiny_export

transformers_pipelines = pytest.importorskip("transformers.pipelines")
if not hasattr(transformers_pipelines, "PIPELINE_REGISTRY"):
    pytest.skip("custom pipelines need transformers 4.26 or later", allow_module_level=True)

from transformers import pipeline  # noqa: E402

import srl_plugin.hf.pipeline  # noqa: E402,F401  (registers the task)

ITEMS = [
    "The cat sat on the mat .",
    {"tokens": ["I", "want", "to", "go", "home", "."], "predicates": [1, 3]},
    {"sentence": "They broke up last year .", "predicates": [[1, 2]]},
    {"tokens": ["No", "predicates", "here"], "predicates": []},
    "She said that the company would sell its stake in the firm .",
    {"tokens": ["a", "b"], "predicates": [0]},
]


@pytest.fixture(scope="module")
def export(tiny_bert, tmp_path_factory):
    return make_tiny_export(tiny_bert, str(tmp_path_factory.mktemp("pipeline") / "export"))


@pytest.fixture(scope="module")
def headless_export(tiny_bert, tmp_path_factory):
    folder = tmp_path_factory.mktemp("pipeline_headless") / "export"
    return make_tiny_export(tiny_bert, str(folder), predicate_head=False)


@pytest.fixture(scope="module")
def expected(export):
    return SemanticRoleLabeler.from_pretrained(export, batch_size=2).predict_batch(ITEMS)


@pytest.mark.parametrize("batch_size", [1, 3, 16])
def test_pipeline_batches_and_gives_the_labelers_frames(export, expected, batch_size):
    srl = pipeline("semantic-role-labeling", model=export)
    outputs = srl(ITEMS, batch_size=batch_size)
    assert outputs == expected
    # Not all empty: the frames compared carry predicates and tags.
    assert sum(len(output["verbs"]) for output in outputs) >= 5


def test_pre_split_words_are_one_sentence(export, expected):
    srl = pipeline("semantic-role-labeling", model=export)
    words = ["The", "cat", "sat", "on", "the", "mat", "."]
    output = srl(words, is_split_into_words=True)
    # Given words have no original string, hence no character offsets.
    as_words = SemanticRoleLabeler.from_pretrained(export, batch_size=2).predict({"tokens": words})
    assert isinstance(output, dict) and output == as_words
    assert [v["tags"] for v in output["verbs"]] == [v["tags"] for v in expected[0]["verbs"]]
    assert srl([words, ["a", "b"]], is_split_into_words=True, batch_size=2)[0] == as_words
    # Without the flag a list of strings is a batch of sentences, as in every pipeline.
    batch = srl(["The cat sat on the mat .", "a b"])
    assert [output["words"] for output in batch] == [words, ["a", "b"]]
    with pytest.raises(ValueError, match="is_split_into_words=True takes a list of words"):
        srl("The cat sat .", is_split_into_words=True)


def test_model_without_predicate_head_says_how_to_give_predicates(headless_export):
    srl = pipeline("semantic-role-labeling", model=headless_export)
    assert srl.model.predicate_classifier is None
    with pytest.raises(ValueError, match="no predicate-identification head"):
        srl("The cat sat on the mat .")
    output = srl({"tokens": ["The", "cat", "sat", "."], "predicates": [2]})
    assert [verb["predicate_indices"] for verb in output["verbs"]] == [[2]]


def test_pipeline_dtype_reaches_the_model(export, expected):
    import torch
    import transformers

    major = int(transformers.__version__.split(".")[0])
    dtype_argument = "dtype" if major >= 5 else "torch_dtype"
    srl = pipeline("semantic-role-labeling", model=export, **{dtype_argument: torch.bfloat16})
    assert srl.model.dtype == torch.bfloat16
    outputs = srl(ITEMS, batch_size=4)
    # bf16 logits may flip a tag, but every item is parsed and every given predicate labelled.
    assert [o["words"] for o in outputs] == [e["words"] for e in expected]
    for output, item in zip(outputs[1:4], ITEMS[1:4]):
        given = [p if isinstance(p, list) else [p] for p in item["predicates"]]
        assert [verb["predicate_indices"] for verb in output["verbs"]] == given


def test_fused_model_encodes_each_sentence_once(tiny_bert, tmp_path):
    """
    A shared-encoding export: the pipeline's frames are the labeler's, and a raw sentence's
    lower layers run once, in the pipeline's batch: labelling the predicates found reuses them.
    """
    export = make_tiny_export(tiny_bert, str(tmp_path / "fused"), fusion_layer=1)
    sentences = [item for item in ITEMS if isinstance(item, str)] + ["The dog ran home ."]
    expected = SemanticRoleLabeler.from_pretrained(export, batch_size=2).predict_batch(sentences)
    srl = pipeline("semantic-role-labeling", model=export)
    labeler = srl.labeler
    for words in (result["words"] for result in expected):
        assert len(sentence_frames(labeler.aligner, words, labeler.max_wordpieces)) == 1
    # The tiny BERT has two layers; the marker enters before the second.
    lower, upper = srl.model.bert.encoder.layer
    rows = {"lower": 0, "upper": 0}

    def count(name):
        def hook(module, inputs):
            rows[name] += inputs[0].size(0)

        return hook

    lower.register_forward_pre_hook(count("lower"))
    upper.register_forward_pre_hook(count("upper"))
    for batch_size in (1, 2):
        rows.update(lower=0, upper=0)
        outputs = srl(sentences, batch_size=batch_size)
        assert outputs == expected
        frames = [len(output["verbs"]) for output in outputs]
        assert max(frames) >= 2 and sum(frames) >= 5
        # One window per sentence: the lower layer once for finding and labelling together,
        # the upper one once per frame (none while finding: the head reads the shared encoding).
        assert rows == {"lower": len(sentences), "upper": sum(frames)}
    # Items with given predicates and mixed batches give the labeler's frames too.
    labeler_frames = SemanticRoleLabeler.from_pretrained(export, batch_size=2).predict_batch(ITEMS)
    assert srl(ITEMS, batch_size=3) == labeler_frames
