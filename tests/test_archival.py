"""
`srl_plugin.archives` on untrusted and broken archives: tar members that would write outside the
extraction folder, pickles that would run code, and archives that are truncated, incomplete or
inconsistent must all be refused with an error that names the file and the problem.

The allennlp-models archives here are built in code (an untrained `SrlBert`), which is all these
checks need; `tests/commands/` compares with a trained one.
"""

import io
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import pytest
import torch
from allennlp.data import Vocabulary
from allennlp.models.archival import load_archive
from allennlp_models.structured_prediction.models.srl_bert import SrlBert
from transformers import BertConfig, BertModel

from srl_plugin.archives.archive import (
    load_srl_archive,
    read_srl_checkpoint,
    write_archive,
    export_checkpoint,
)
from srl_plugin.archives.resolution import resolve_checkpoint
from srl_plugin.archives.safe_tar import safe_extract
from srl_plugin.archives.srl_bert import infer_bert_config
from srl_plugin.hf.checkpoints.building import to_srl_names
from srl_plugin.hf.checkpoints.weights import CheckpointError, load_torch_weights
from srl_plugin.models.hf_srl import HfSrlModel
from tests import EWT_SAMPLE, PROJECT_ROOT
from tests.cli import TINY_CONFIG, allennlp_command, tiny_config_vars

LABELS = ["O", "B-V", "I-V", "B-ARG0", "I-ARG0", "B-ARG1", "I-ARG1"]


def write_srl_bert_folder(
    folder: Path,
    bert: str,
    bert_model: Any = None,
    reader_bert: Optional[str] = None,
    labels: List[str] = LABELS,
    state: Optional[Dict[str, torch.Tensor]] = None,
) -> Path:
    """The files of an allennlp-models `srl_bert` archive, with an untrained model's weights."""
    vocab = Vocabulary(non_padded_namespaces=["*labels"])
    vocab.add_tokens_to_namespace(labels, "labels")
    if state is None:
        torch.manual_seed(1)
        state = SrlBert(vocab, bert_model=bert).state_dict()
    folder.mkdir(parents=True)
    vocab.save_to_files(str(folder / "vocabulary"))
    torch.save(state, folder / "weights.th")
    config = {
        "dataset_reader": {"type": "srl", "bert_model_name": reader_bert or bert},
        "model": {"type": "srl_bert", "bert_model": bert_model or bert},
    }
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def tar_folder(folder: Path, archive: Path) -> Path:
    with tarfile.open(archive, "w:gz") as tar:
        for name in sorted(os.listdir(folder)):
            tar.add(folder / name, arcname=name)
    return archive


@pytest.fixture(scope="module")
def uncased_bert(tmp_path_factory) -> str:
    """The session's tiny BERT under a name with "uncased", as allennlp-models' reader expects."""
    from tests import EWT_SAMPLE
    from tests.tiny_bert import conll_words, make_tiny_bert

    folder = tmp_path_factory.mktemp("bert") / "tiny-bert-uncased"
    return make_tiny_bert(str(folder), conll_words(str(EWT_SAMPLE)))


@pytest.fixture(scope="module")
def srl_bert_archive(uncased_bert, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("srl_bert_archive")
    return tar_folder(write_srl_bert_folder(root / "files", uncased_bert), root / "model.tar.gz")


@pytest.fixture(scope="module")
def own_archive(srl_bert_archive, tmp_path_factory) -> Path:
    """An hf_srl archive, as `srl-import` writes it (of the untrained srl_bert archive)."""
    archive = tmp_path_factory.mktemp("own_archive") / "model.tar.gz"
    return Path(write_archive(read_srl_checkpoint(str(srl_bert_archive)), str(archive)))


class Zeros:
    """`size` zero bytes to `tarfile.addfile`, without holding them in memory."""

    def __init__(self, size: int) -> None:
        self.left = size

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        self.left -= size
        return bytes(size)


def rewrite_archive(
    source: Path,
    target: Path,
    replace: Optional[Dict[str, bytes]] = None,
    extra: Optional[List[Tuple[str, Any]]] = None,
    members: Sequence[tarfile.TarInfo] = (),
) -> Path:
    """
    `source` with the files in `replace` changed and `(name, bytes or Zeros)` added at the end,
    then `members` (a file member holds "pwned").
    """
    replace = replace or {}
    with tarfile.open(source) as original, tarfile.open(target, "w:gz", compresslevel=1) as tar:
        for member in original:
            data = original.extractfile(member).read() if member.isfile() else None
            if member.name in replace:
                data = replace[member.name]
                member.size = len(data)
            tar.addfile(member, io.BytesIO(data) if data is not None else None)
        for name, content in extra or []:
            member = tarfile.TarInfo(name)
            member.size = content.left if isinstance(content, Zeros) else len(content)
            tar.addfile(member, content if isinstance(content, Zeros) else io.BytesIO(content))
        for member in members:
            data = b"pwned" if member.isfile() else None
            member.size = len(data or b"")
            tar.addfile(member, io.BytesIO(data) if data is not None else None)
    return target


def allennlp_predict(
    archive: Path, folder: Path, command: str = "predict"
) -> subprocess.CompletedProcess:
    """
    `allennlp predict ARCHIVE` on one frame (or `allennlp evaluate ARCHIVE` on the EWT sample),
    with a fresh temporary folder `folder/tmp`.
    """
    folder.mkdir(parents=True, exist_ok=True)
    lines = folder / "input.jsonl"
    lines.write_text(json.dumps({"tokens": ["the", "cat", "sat"], "predicates": [[2]]}) + "\n")
    (folder / "tmp").mkdir()
    data = lines if command == "predict" else EWT_SAMPLE
    args = ["--silent"] if command == "predict" else []
    output = folder / "output.json"
    return allennlp_command(
        command,
        str(archive),
        str(data),
        "--output-file",
        str(output),
        *args,
        env={"TMPDIR": str(folder / "tmp")},
    )


# Tar members --------------------------------------------------------------------------------


def malicious_tar(path: Path, members: List[tarfile.TarInfo]) -> Path:
    """A tar.gz whose first member is a harmless config.json, followed by `members`."""
    with tarfile.open(path, "w:gz") as tar:
        harmless = tarfile.TarInfo("config.json")
        harmless.size = 2
        tar.addfile(harmless, io.BytesIO(b"{}"))
        for member in members:
            data = b"pwned"
            if member.isfile():
                member.size = len(data)
            tar.addfile(member, io.BytesIO(data) if member.isfile() else None)
    return path


def link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type = kind
    member.linkname = target
    return member


def fifo(name: str) -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type = tarfile.FIFOTYPE
    return member


UNSAFE_MEMBERS = {
    "parent": ([tarfile.TarInfo("../evil")], "path contains '..'"),
    "nested-parent": ([tarfile.TarInfo("vocabulary/../../evil")], "path contains '..'"),
    "absolute": ([tarfile.TarInfo("/tmp/srl_plugin_evil")], "absolute path"),
    "symlink": ([link("passwd", "/etc/passwd")], "outside the archive"),
    "relative-symlink": ([link("vocabulary/passwd", "../../etc/passwd")], "outside the archive"),
    "hardlink": ([link("passwd", "../etc/passwd", tarfile.LNKTYPE)], "outside the archive"),
    "absolute-hardlink": ([link("passwd", "/etc/passwd", tarfile.LNKTYPE)], "outside the archive"),
    # A link to a folder of the archive would let a later member be written through it.
    "folder-symlink": ([link("here", ".")], "is not a file of the archive"),
    "inside-a-link": (
        [link("alias", "config.json"), tarfile.TarInfo("alias/evil")],
        "inside link 'alias'",
    ),
    "written-twice": ([link("config.json", "config.json")], "'config.json': it appears twice"),
    "fifo": ([fifo("vocabulary/labels.txt")], "not a file or folder"),
}


@pytest.mark.parametrize("case", UNSAFE_MEMBERS, ids=list(UNSAFE_MEMBERS))
def test_unsafe_members_are_refused_before_anything_is_written(tmp_path, case):
    members, problem = UNSAFE_MEMBERS[case]
    archive = malicious_tar(tmp_path / "model.tar.gz", members)
    target = tmp_path / "extracted"
    with pytest.raises(CheckpointError) as error:
        safe_extract(str(archive), str(target))
    assert str(archive) in str(error.value) and problem in str(error.value)
    assert not target.exists()  # not even the harmless first member
    assert not (tmp_path / "evil").exists() and not os.path.exists("/tmp/srl_plugin_evil")
    # The loader refuses it the same way.
    with pytest.raises(CheckpointError, match="refusing"):
        load_srl_archive(str(archive))


def test_links_to_files_inside_become_copies(tmp_path):
    with tarfile.open(tmp_path / "model.tar.gz", "w:gz") as tar:
        data = tarfile.TarInfo("vocabulary/labels.txt")
        data.size = 2
        tar.addfile(data, io.BytesIO(b"O\n"))
        tar.addfile(link("labels.txt", "vocabulary/labels.txt"))
        tar.addfile(link("hard.txt", "vocabulary/labels.txt", tarfile.LNKTYPE))
    safe_extract(str(tmp_path / "model.tar.gz"), str(tmp_path / "out"))
    for name in ("labels.txt", "hard.txt"):
        path = tmp_path / "out" / name
        assert not path.is_symlink() and path.read_text() == "O\n"


def test_truncated_archive_is_a_clear_error(srl_bert_archive, tmp_path):
    data = srl_bert_archive.read_bytes()
    for size in (10, len(data) // 2, len(data) - 30):
        truncated = tmp_path / f"truncated{size}.tar.gz"
        truncated.write_bytes(data[:size])
        with pytest.raises(CheckpointError, match="not a readable tar.gz archive"):
            load_srl_archive(str(truncated))
        with pytest.raises(CheckpointError, match="not a readable tar.gz archive"):
            safe_extract(str(truncated), str(tmp_path / "extracted"))
        assert not (tmp_path / "extracted").exists()
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"this is not an archive at all")
    with pytest.raises(CheckpointError, match=f"{garbage}: not a readable tar.gz archive"):
        read_srl_checkpoint(str(garbage))


# Weights ------------------------------------------------------------------------------------


class RunsACommand:
    """Pickles into a call of `os.system`, as a malicious weights file would."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def test_weights_that_would_run_code_are_refused(uncased_bert, tmp_path):
    witness = tmp_path / "pwned"
    folder = write_srl_bert_folder(
        tmp_path / "files", uncased_bert, state={"payload": RunsACommand(f"touch {witness}")}
    )
    # Both torch serializations: the zip file of torch >= 1.6 and the legacy pickle stream.
    legacy = tmp_path / "legacy.th"
    torch.save(
        {"payload": RunsACommand(f"touch {witness}")}, legacy, _use_new_zipfile_serialization=False
    )
    for weights in (folder / "weights.th", legacy):
        with pytest.raises(CheckpointError, match="refusing to load posix.system"):
            load_torch_weights(str(weights))
    archive = tar_folder(folder, tmp_path / "model.tar.gz")
    with pytest.raises(CheckpointError) as error:
        load_srl_archive(str(archive))
    assert f"{archive}/weights.th" in str(error.value)
    assert "refusing to load posix.system" in str(error.value)
    assert not witness.exists()


def test_legacy_and_zip_weights_load(uncased_bert, srl_bert_archive, tmp_path):
    state = {"a": torch.arange(6.0).reshape(2, 3), "b": torch.nn.Parameter(torch.ones(2))}
    for zipped in (True, False):
        path = tmp_path / f"weights{zipped}.th"
        torch.save(state, path, _use_new_zipfile_serialization=zipped)
        loaded = load_torch_weights(str(path))
        assert torch.equal(loaded["a"], state["a"]) and torch.equal(loaded["b"], state["b"])


def test_missing_weights_is_a_clear_error(uncased_bert, tmp_path):
    folder = write_srl_bert_folder(tmp_path / "files", uncased_bert)
    (folder / "weights.th").unlink()
    archive = tar_folder(folder, tmp_path / "model.tar.gz")
    with pytest.raises(CheckpointError, match=f"{archive}: no weights.th"):
        load_srl_archive(str(archive))


def test_weights_that_do_not_fit_the_config_are_a_clear_error(uncased_bert, tmp_path):
    config = json.loads((Path(uncased_bert) / "config.json").read_text())
    config["hidden_size"], config["num_attention_heads"] = 64, 4  # the weights are 32 wide
    folder = write_srl_bert_folder(tmp_path / "files", uncased_bert, bert_model=config)
    archive = tar_folder(folder, tmp_path / "model.tar.gz")
    with pytest.raises(CheckpointError) as error:
        load_srl_archive(str(archive))
    message = str(error.value)
    assert message.startswith(f"{archive}/weights.th:") and "has shape" in message


def test_fewer_layers_in_the_config_than_in_the_weights(uncased_bert, tmp_path):
    config = json.loads((Path(uncased_bert) / "config.json").read_text())
    config["num_hidden_layers"] = 1
    folder = write_srl_bert_folder(tmp_path / "files", uncased_bert, bert_model=config)
    with pytest.raises(
        CheckpointError, match="do not fit the config .1 layers.: bert.encoder.layer.1"
    ):
        read_srl_checkpoint(str(folder))


def test_labels_that_do_not_fit_the_weights_are_a_clear_error(uncased_bert, tmp_path):
    folder = write_srl_bert_folder(tmp_path / "files", uncased_bert)
    labels = folder / "vocabulary" / "labels.txt"
    labels.write_text(labels.read_text() + "B-ARG2\n")
    archive = tar_folder(folder, tmp_path / "model.tar.gz")
    with pytest.raises(CheckpointError) as error:
        load_srl_archive(str(archive))
    assert str(error.value) == (
        f"{archive}/vocabulary/labels.txt has 8 labels but the classifier in "
        f"{archive}/weights.th has 7 rows"
    )


def test_config_naming_code_is_refused(srl_bert_archive, tmp_path):
    # AllenNLP imports and calls whatever a dotted "type" names: here, loading this plugin's
    # archive would build its validation reader with `os.system(command=...)`.
    witness = tmp_path / "pwned"
    write_archive(read_srl_checkpoint(str(srl_bert_archive)), str(tmp_path / "model.tar.gz"))
    folder = tmp_path / "files"
    safe_extract(str(tmp_path / "model.tar.gz"), str(folder))
    config = json.loads((folder / "config.json").read_text())
    assert config["model"]["type"] == "hf_srl"
    config["validation_dataset_reader"] = {"type": "os.system", "command": f"touch {witness}"}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="refusing type 'os.system'"):
        load_srl_archive(str(folder))
    config["validation_dataset_reader"] = {"_pretrained": {"archive_file": "x.tar.gz", "path": ""}}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="refusing '_pretrained'"):
        load_srl_archive(str(folder))
    assert not witness.exists()


def test_unknown_model_type_is_refused(tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model": {"type": "crf_tagger"}}))
    torch.save({}, folder / "weights.th")
    with pytest.raises(CheckpointError, match="'crf_tagger' is neither"):
        read_srl_checkpoint(str(folder))


# allennlp-models archives -------------------------------------------------------------------


def test_srl_bert_archive_loads_with_all_its_weights(srl_bert_archive, uncased_bert, tmp_path):
    safe_extract(str(srl_bert_archive), str(tmp_path / "files"))
    upstream = torch.load(tmp_path / "files" / "weights.th")
    archive = load_srl_archive(str(srl_bert_archive))
    model = archive.model
    assert isinstance(model, HfSrlModel) and model.hf_model.predicate_classifier is None
    assert model.vocab.get_token_to_index_vocabulary("labels") == {
        l: i for i, l in enumerate(LABELS)
    }
    state = model.state_dict()
    for name, tensor in upstream.items():
        if "pooler" in name or name.endswith("position_ids"):
            continue
        ours = name.replace("bert_model.", "bert.").replace("tag_projection_layer.", "classifier.")
        assert torch.equal(state[ours], tensor), name
    # The reader tokenizes as allennlp-models' did: lowercased, because the name says "uncased".
    assert archive.dataset_reader.aligner.lowercase and model.aligner.lowercase
    assert archive.config["dataset_reader"]["predicate_instances"] is False


def test_srl_bert_archive_with_a_bert_config_dict(uncased_bert, srl_bert_archive, tmp_path):
    # `bert_model` may be the BertConfig itself, as when SrlBert is built for loading.
    config = json.loads((Path(uncased_bert) / "config.json").read_text())
    folder = write_srl_bert_folder(tmp_path / "files", uncased_bert, bert_model=config)
    from_dict = read_srl_checkpoint(str(folder)).model
    from_path = read_srl_checkpoint(str(srl_bert_archive)).model
    assert from_dict.config.to_diff_dict() == from_path.config.to_diff_dict()
    for name, tensor in from_path.state_dict().items():
        assert torch.equal(from_dict.state_dict()[name], tensor), name


def test_srl_bert_archive_of_a_bert_that_is_not_at_hand(uncased_bert, tmp_path):
    # An archive naming its BERT (as the published one names "bert-base-uncased") that is
    # neither a local folder nor in the Hugging Face cache: no vocabulary, no config inside.
    name = "no-such-bert-uncased"
    folder = write_srl_bert_folder(
        tmp_path / "files", uncased_bert, bert_model=name, reader_bert=name
    )
    with pytest.raises(CheckpointError, match="--tokenizer DIR"):
        read_srl_checkpoint(str(folder))
    # A 32-wide BERT: the number of heads cannot be guessed.
    with pytest.raises(CheckpointError, match="--bert-config"):
        read_srl_checkpoint(str(folder), tokenizer=uncased_bert)
    config_file = os.path.join(uncased_bert, "config.json")
    checkpoint = read_srl_checkpoint(str(folder), tokenizer=uncased_bert, bert_config=config_file)
    assert checkpoint.aligner.lowercase and checkpoint.model.config.num_attention_heads == 2
    assert not read_srl_checkpoint(
        str(folder), tokenizer=uncased_bert, bert_config=uncased_bert, lowercase=False
    ).aligner.lowercase
    with pytest.raises(CheckpointError, match=f"{tmp_path}: no vocab.txt"):
        read_srl_checkpoint(str(folder), tokenizer=str(tmp_path))
    with pytest.raises(CheckpointError, match="unreadable config /no/such/config.json"):
        read_srl_checkpoint(str(folder), tokenizer=uncased_bert, bert_config="/no/such/config.json")
    roberta_config = tmp_path / "roberta.json"
    roberta_config.write_text(json.dumps({**json.load(open(config_file)), "model_type": "roberta"}))
    with pytest.raises(CheckpointError, match="is a roberta config; srl_bert archives hold BERT"):
        read_srl_checkpoint(str(folder), tokenizer=uncased_bert, bert_config=str(roberta_config))


def test_bert_config_is_inferred_from_the_weights():
    config = BertConfig(
        vocab_size=99,
        hidden_size=128,
        num_hidden_layers=3,
        num_attention_heads=2,
        intermediate_size=200,
        max_position_embeddings=40,
        type_vocab_size=2,
    )
    state = to_srl_names({"bert." + k: v for k, v in BertModel(config).state_dict().items()})
    inferred = infer_bert_config(state, "weights.th")
    for key in (
        "vocab_size",
        "hidden_size",
        "num_hidden_layers",
        "num_attention_heads",
        "intermediate_size",
        "max_position_embeddings",
        "type_vocab_size",
    ):
        assert getattr(inferred, key) == getattr(config, key), key


def test_fine_tuning_from_an_srl_bert_archive_keeps_its_weights(srl_bert_archive, uncased_bert):
    # `bert_model` may name an archive: the encoder and the rows of known labels carry over.
    vocab = Vocabulary(non_padded_namespaces=["*labels"])
    vocab.add_tokens_to_namespace(["O", "B-ARG1", "I-ARG1", "B-V", "B-ARGM-TMP"], "labels")
    model = HfSrlModel(vocab, bert_model=str(srl_bert_archive))
    # Read once, for the reader and the model alike.
    assert resolve_checkpoint(str(srl_bert_archive)) is resolve_checkpoint(str(srl_bert_archive))
    upstream = read_srl_checkpoint(str(srl_bert_archive)).model
    assert torch.equal(
        model.bert.encoder.layer[1].output.dense.weight,
        upstream.bert.encoder.layer[1].output.dense.weight,
    )
    for new_id, label in enumerate(["O", "B-ARG1", "I-ARG1", "B-V"]):
        old_id = LABELS.index(label)
        assert torch.equal(model.classifier.weight[new_id], upstream.classifier.weight[old_id])
    assert model.hf_model.predicate_classifier is not None  # a new head, trained from here


def test_export_folder_loads_without_allennlp_files(srl_bert_archive, tmp_path):
    checkpoint = read_srl_checkpoint(str(srl_bert_archive))
    export = export_checkpoint(checkpoint, str(tmp_path / "export"))
    archive = load_srl_archive(export)
    assert archive.config["model"]["bert_model"] == export
    for name, tensor in checkpoint.model.state_dict().items():
        assert torch.equal(archive.model.state_dict()[name], tensor), name
    shutil.rmtree(export)


# AllenNLP's own loader (allennlp predict) --------------------------------------------------


@pytest.mark.parametrize("case", UNSAFE_MEMBERS, ids=list(UNSAFE_MEMBERS))
def test_allennlp_load_archive_checks_every_member_first(own_archive, tmp_path, monkeypatch, case):
    # `load_archive` (what `allennlp predict` and `evaluate` call), with the plugin imported.
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    assert load_archive(str(own_archive)).model.vocab.get_vocab_size("labels") == len(LABELS)
    assert os.listdir(scratch) == []
    members, problem = UNSAFE_MEMBERS[case]
    evil = malicious_tar(tmp_path / "evil.tar.gz", members)
    with pytest.raises(CheckpointError) as error:
        load_archive(str(evil))
    assert str(error.value).startswith(f"{evil}: refusing") and problem in str(error.value)
    assert os.listdir(scratch) == []  # nothing extracted, not even an empty folder
    assert not os.path.exists("/tmp/srl_plugin_evil")


# Members that Python 3.10.13's `data` filter lets through (an absolute path extracted inside, a
# link to a folder) or refuses only after extracting what came before, in an archive that
# `allennlp predict` would otherwise load.
@pytest.mark.parametrize("case", ["parent", "absolute", "folder-symlink"])
@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_allennlp_predict_and_evaluate_check_every_member_first(
    own_archive, tmp_path, command, case
):
    members, problem = UNSAFE_MEMBERS[case]
    evil = rewrite_archive(own_archive, tmp_path / "evil.tar.gz", members=members)
    result = allennlp_predict(evil, tmp_path / "run", command)
    assert result.returncode != 0
    assert f"CheckpointError: {evil}: refusing" in result.stderr, result.stderr[-3000:]
    assert f"{members[0].name!r}" in result.stderr and problem in result.stderr
    # AllenNLP extracts into a folder of $TMPDIR: "../evil" would land in $TMPDIR itself.
    assert os.listdir(tmp_path / "run" / "tmp") == []
    assert not os.path.exists("/tmp/srl_plugin_evil")
    assert not (tmp_path / "run" / "output.json").exists()


def test_allennlp_predict_reads_hf_srl_weights_tensors_only(own_archive, tmp_path):
    witness = tmp_path / "pwned"
    payload = io.BytesIO()
    torch.save({"payload": RunsACommand(f"touch {witness}")}, payload)
    evil = rewrite_archive(
        own_archive, tmp_path / "evil.tar.gz", replace={"weights.th": payload.getvalue()}
    )
    result = allennlp_predict(evil, tmp_path / "predict")
    assert not witness.exists()
    assert result.returncode != 0
    assert "weights.th: unsafe or corrupt weights file (refusing to load posix.system" in (
        result.stderr
    )


# Interrupted and finished writes ----------------------------------------------------------


# Runs `allennlp ARGS` and SIGKILLs it 0.1 s after it opens the archive, while it is reading it.
KILLED_WHILE_READING = """
import os, runpy, signal, sys, threading, time

archive = sys.argv[1]


def kill_soon():
    time.sleep(0.1)
    os.kill(os.getpid(), signal.SIGKILL)


def on_open(event, args):
    if event == "open" and args and str(args[0]) == archive and not started:
        started.append(threading.Thread(target=kill_soon, daemon=True))
        started[0].start()


started = []
sys.addaudithook(on_open)
sys.argv = ["allennlp", *sys.argv[2:]]
runpy.run_module("allennlp.__main__", run_name="__main__")
"""


def test_killed_srl_export_leaves_nothing_behind(own_archive, tmp_path):
    # 256 MB more to read (0.7 s here): the kill lands while the archive is being read.
    big = rewrite_archive(own_archive, tmp_path / "big.tar.gz", extra=[("padding", Zeros(1 << 28))])
    scratch, outputs = tmp_path / "tmp", tmp_path / "outputs"
    scratch.mkdir()
    outputs.mkdir()
    command = [sys.executable, "-c", KILLED_WHILE_READING, str(big), "srl-export", str(big)]
    command += [str(outputs / "hf_model"), "--include-package", "srl_plugin"]
    env = dict(os.environ, TMPDIR=str(scratch), OMP_NUM_THREADS="1")
    result = subprocess.run(command, cwd=str(PROJECT_ROOT), env=env, capture_output=True, text=True)
    assert result.returncode == -signal.SIGKILL, result.stderr[-3000:]
    assert os.listdir(scratch) == []
    assert os.listdir(outputs) == []


# Runs `python -c CODE ARGS` and SIGKILLs it when FUNCTION ("module:Class.method") is called.
KILLED_WHEN_CALLED = """
import functools, importlib, os, signal, sys

module, name = sys.argv[1].split(":")
owner = importlib.import_module(module)
*outer, attribute = name.split(".")
for part in outer:
    owner = getattr(owner, part)


@functools.wraps(getattr(owner, attribute))  # the signature AllenNLP's from_params reads
def kill(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


setattr(owner, attribute, kill)
code, sys.argv = sys.argv[2], sys.argv[2:]
exec(code)
"""
RUN_ALLENNLP = (
    "import runpy; sys.argv[0] = 'allennlp'; runpy.run_module('allennlp', run_name='__main__')"
)
# Everything that reads the checkpoint is done by the time the model is built.
MODEL_BUILT = "srl_plugin.models.hf_srl:HfSrlModel.__init__"


def killed_when_called(
    function: str, code: str, *args: str, scratch: Path, env: Optional[Dict[str, str]] = None
) -> subprocess.CompletedProcess:
    """Runs `code` with `args` in a subprocess whose $TMPDIR is `scratch`, killed at `function`."""
    scratch.mkdir()
    full_env = dict(os.environ, TMPDIR=str(scratch), OMP_NUM_THREADS="1", **(env or {}))
    command = [sys.executable, "-c", KILLED_WHEN_CALLED, function, code, *args]
    return subprocess.run(
        command, cwd=str(PROJECT_ROOT), env=full_env, capture_output=True, text=True
    )


def test_killed_archive_loading_leaves_nothing_behind(own_archive, tmp_path):
    # Killed once the readers are built, as the model is: every file the loader needs is read.
    code = "from srl_plugin.archives.archive import load_srl_archive; load_srl_archive(sys.argv[1])"
    scratch = tmp_path / "tmp"
    result = killed_when_called(MODEL_BUILT, code, str(own_archive), scratch=scratch)
    assert result.returncode == -signal.SIGKILL, result.stderr[-3000:]
    assert os.listdir(scratch) == []


def test_killed_fine_tuning_from_an_archive_leaves_nothing_behind(srl_bert_archive, tmp_path):
    # `allennlp train` from an archive (`bert_model`), killed after its readers have resolved
    # the archive, as it would be at any later point of a long run.
    output = tmp_path / "run"
    args = ["train", str(TINY_CONFIG), "-s", str(output), "--include-package", "srl_plugin"]
    env = tiny_config_vars(str(srl_bert_archive))
    scratch = tmp_path / "tmp"
    result = killed_when_called(MODEL_BUILT, RUN_ALLENNLP, *args, scratch=scratch, env=env)
    assert result.returncode == -signal.SIGKILL, result.stderr[-3000:]
    assert os.listdir(scratch) == []


def test_written_archives_and_exports_have_the_umasks_modes(srl_bert_archive, tmp_path):
    # As `tar` or `save_pretrained` would write them: readable by a serving process's user.
    checkpoint = read_srl_checkpoint(str(srl_bert_archive))
    previous = os.umask(0o022)
    try:
        archive = write_archive(checkpoint, str(tmp_path / "model.tar.gz"))
        export = export_checkpoint(checkpoint, str(tmp_path / "export"))
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(archive).st_mode) == 0o644
    with tarfile.open(archive) as tar:
        assert tar.getmember("hf_model").mode == 0o755
        assert tar.getmember("weights.th").mode == 0o644
    assert stat.S_IMODE(os.stat(export).st_mode) == 0o755
    for name in os.listdir(export):
        assert stat.S_IMODE(os.stat(os.path.join(export, name)).st_mode) == 0o644, name
    assert sorted(os.listdir(tmp_path)) == ["export", "model.tar.gz"]


def test_archive_rolesets_are_read_as_allennlp_reads_them(tmp_path):
    from srl_plugin.archives.files import ArchiveFiles

    vocabulary = tmp_path / "vocabulary"
    vocabulary.mkdir()
    (vocabulary / "labels.txt").write_text("O\nB-V\n")
    # An archive of a model without a sense head (every archive before them) has no rolesets.
    assert ArchiveFiles(str(tmp_path)).rolesets() == []
    (vocabulary / "roleset_labels.txt").write_text("run.02\nrun.01\n")
    (vocabulary / "non_padded_namespaces.txt").write_text("*tags\n*labels\n")
    assert ArchiveFiles(str(tmp_path)).rolesets() == ["run.02", "run.01"]
    assert Vocabulary.from_files(str(vocabulary)).get_token_to_index_vocabulary(
        "roleset_labels"
    ) == {"run.02": 0, "run.01": 1}
    (vocabulary / "non_padded_namespaces.txt").write_text("labels\n")
    with pytest.raises(CheckpointError, match="the roleset_labels namespace is padded"):
        ArchiveFiles(str(tmp_path)).rolesets()
