"""
Ray Data (`pip install ".[ray]"`) on a local Ray instance: `read_text(...).map_batches(SrlLabeler)`
over the EWT dev text gives, line for line, what the single-process labeller gives.
"""

import json
import os

import pytest
import torch

from tests.conll import ewt_dev, read_conll_sentences

pytestmark = pytest.mark.modern

DEV_LINES = 800
FIXTURE = os.environ.get("SRL_PLUGIN_MODERN_FIXTURE", "")


@pytest.fixture(scope="module")
def export() -> str:
    path = os.path.join(FIXTURE, "export")
    if not os.path.isfile(os.path.join(path, "config.json")):
        pytest.fail(
            f"no export at SRL_PLUGIN_MODERN_FIXTURE={FIXTURE!r}: run the AllenNLP tests first"
        )
    return path


def _on_one_thread(export, label):
    """`label(labeler)` with the export's labeler on one torch thread, as each Ray worker
    (num_cpus=1) runs: the same float32 sums, the same bits."""
    from srl_plugin.hf.labeler import SemanticRoleLabeler

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        labeler = SemanticRoleLabeler.from_pretrained(export)
        labeler.model.eval()
        return label(labeler)
    finally:
        torch.set_num_threads(threads)


def _labelled_on_ray(ray, path, labeler_kwargs):
    """The `srl` column of `read_text(path).map_batches(SrlLabeler)` on a local Ray, in order."""
    from srl_plugin.hf.ray_data import SrlLabeler

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False
        dataset = ray.data.read_text(
            str(path), drop_empty_lines=False, override_num_blocks=1
        ).map_batches(
            SrlLabeler,
            fn_constructor_kwargs=labeler_kwargs,
            batch_size=512,
            concurrency=1,
            num_cpus=1,
        )
        return [row["srl"] for row in dataset.take_all()]
    finally:
        ray.shutdown()


def test_ray_data_output_equals_single_process(export, tmp_path):
    ray = pytest.importorskip("ray")  # the `ray` extra: installed in .venv-hf5 by the Makefile
    from srl_plugin.hf.corpus import label_lines
    from srl_plugin.hf.formats import json_line

    sentences = read_conll_sentences(ewt_dev(str(tmp_path)))
    text = tmp_path / "dev.txt"
    # The first 800 of EWT dev's 1,968 sentences (all of them take 4 minutes on 2 busy cores,
    # mostly Ray's start), and lines that are answered with errors.
    lines = [" ".join(words) for words, _ in sentences[:DEV_LINES]] + ["", "\x00\x01", "  "]
    text.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def label(labeler):
        with open(text, "rb") as lines_in:
            return [json_line(r)[:-1] for r in label_lines(labeler, lines_in, False, 512)]

    single = _on_one_thread(export, label)
    distributed = _labelled_on_ray(ray, text, {"export": export})
    assert len(distributed) == len(lines) == len(single)
    results = [json.loads(line) for line in single]
    assert [i for i, r in enumerate(results) if "error" in r] == [
        DEV_LINES,
        DEV_LINES + 1,
        DEV_LINES + 2,
    ]
    assert sum(len(r.get("verbs", [])) for r in results) > DEV_LINES
    mismatches = [i for i, (a, b) in enumerate(zip(distributed, single)) if a != b]
    assert not mismatches, (mismatches[:5], distributed[mismatches[0]], single[mismatches[0]])


def test_ray_data_documents_equal_label_documents(export, tmp_path):
    """`SrlLabeler(documents=True)`: a row per JSONL document, as `label_documents` gives it."""
    ray = pytest.importorskip("ray")
    from srl_plugin.hf.conll import read_conll2012
    from srl_plugin.hf.documents import label_documents, read_documents
    from srl_plugin.hf.formats import json_line
    from srl_plugin.hf.labeler import DEFAULT_CHUNK_SIZE
    from tests import EWT_SAMPLE

    grouped = {}
    for sentence in read_conll2012(str(EWT_SAMPLE)):
        grouped.setdefault(sentence.document, []).append(" ".join(sentence.words))
    records = [{"id": name, "text": " ".join(texts), "n": i} for i, (name, texts) in
               enumerate(grouped.items())]  # fmt: skip
    lines = [json.dumps(record) for record in records]
    lines += [
        json.dumps({"text": "No id here. Two sentences."}),
        "not json",
        '{"id": "e", "text": ""}',
    ]
    source = tmp_path / "documents.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def label(labeler):
        documents = read_documents(lines, jsonl=True)
        results = label_documents(labeler, documents, DEFAULT_CHUNK_SIZE, None)
        return [json_line(result)[:-1] for result in results]

    single = _on_one_thread(export, label)
    kwargs = {"export": export, "input_format": "jsonl", "documents": True}
    distributed = _labelled_on_ray(ray, source, kwargs)
    assert distributed == single
    results = [json.loads(row) for row in distributed]
    assert [r["id"] for r in results] == list(grouped) + [None, None, "e"]
    assert [r.get("n") for r in results[: len(records)]] == list(range(len(records)))
    assert "not valid JSON" in results[-2]["error"] and results[-1]["sentences"] == []
    assert sum(len(r.get("sentences", [])) for r in results) > len(records)
