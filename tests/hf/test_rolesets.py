import gzip
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from srl_plugin.hf.rolesets import (
    EXAMPLES_PATH,
    TABLE_PATH,
    Roleset,
    RolesetExample,
    RolesetTable,
    fallback_roleset,
    read_examples,
)
from tests import PROJECT_ROOT


@pytest.fixture(scope="module")
def table() -> RolesetTable:
    return RolesetTable.shipped()


def test_verbal_nominal_and_adjectival_rolesets_have_their_roles_described(table):
    possess = table.get("have.03")
    assert possess == Roleset("have.03", "own, possess", {"ARG0": "owner", "ARG1": "possession"})
    assert table.get("have.01").name == "auxiliary"
    # A noun shares its verb's roleset ("approval" -> approve.01), with the verb's roles.
    assert table.candidates("approval", "n") == ["approve.01"]
    approve = table.get("approve.01")
    assert approve.describe("ARG0") == "approver"
    assert approve.describe("R-ARG1") == approve.describe("C-ARG1") == "thing approved"
    assert approve.describe("ARGM-TMP") is None
    # An adjective's rolesets.
    assert table.candidates("happy", "j") == ["happy.01", "happy.02"]
    assert table.get("happy.01").describe("ARG1")


def test_unknown_lemmas_and_missing_rolesets_answer_without_raising(table):
    assert table.candidates("zzzblorf") == []
    assert table.get("zzzblorf.01") is None
    assert fallback_roleset("Zzzblorf") == "zzzblorf.01"
    # EWT's light-verb rolesets have no frame file: they are named by the convention.
    light = table.get("take.LV")
    assert light.name == "light verb" and light.describe("ARG0") is None
    assert table.get(".LV") is None


def test_the_shipped_table_covers_propbank_3_4(table):
    assert len(table) > 11000
    assert "CC BY-SA 4.0" in table.source
    assert "have.03" in table and "have.99" not in table
    assert len(table.candidates("have", "v")) >= 10


def test_a_file_that_is_no_table_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.json.gz"
    with gzip.open(path, "wt") as bad:
        json.dump({"rolesets": {}}, bad)
    with pytest.raises(ValueError, match="not a roleset table"):
        RolesetTable.read(str(path))
    with pytest.raises(ValueError, match="cannot read the roleset table"):
        RolesetTable.read(str(tmp_path / "missing.json.gz"))
    assert TABLE_PATH.name == "propbank_rolesets.json.gz"


FRAMES = PROJECT_ROOT.parent / "shared/data/propbank_frames/propbank-frames-3.4.tar.xz"
SCRIPT = PROJECT_ROOT / "scripts/build_roleset_table.py"
FRAME_FILE = """<?xml version="1.0" encoding="utf-8"?>
<frameset>
  <predicate lemma="approve">
    <roleset id="approve.01" name="assent to">
      <aliases><alias pos="v">approve</alias><alias pos="n">Approval</alias></aliases>
      <roles>
        <role descr="approver" f="PAG" n="0"/>
        <role descr=" thing approved " f="PPT" n="1"/>
        <role descr="time" f="tmp" n="m"/>
      </roles>
      <example name="malformed, as two upstream files have"><text>a <b> c</text></example>
      <example name="kept" src="web">
        <text>The board approved   the plan .</text>
        <propbank><rel relloc="2">approved</rel><arg type="ARG0" start="0" end="1">The board</arg></propbank>
      </example>
      <example name="an EWT dev sentence, told apart only by its tokens" src="web">
        <text>They do n't approve it .</text>
        <propbank><rel relloc="3">approve</rel></propbank>
      </example>
    </roleset>
    <roleset id="approve.02" name="sign off">
      <aliases><alias pos="v">approve</alias></aliases>
      <roles><role descr="signer" f="PAG" n="0"/></roles>
      <example name="phrasal: the predicate is two words">
        <text>He approved it off .</text>
        <propbank><rel relloc="1 3">approved off</rel></propbank>
      </example>
      <example name="no rel"><text>Approved .</text><propbank/></example>
      <example name="kept">
        <text>The manager approved .</text><propbank><rel relloc="2">approved</rel></propbank>
      </example>
    </roleset>
  </predicate>
</frameset>
"""


# An EWT PropBank archive of the shipped layout whose dev holds one of FRAME_FILE's examples,
# tokenized otherwise ("don't" there, "do n't" in the example: the same letters).
EWT_SPLITS = {
    "dev": ["They", "don't", "approve", "it", "."],
    "test": ["Nothing", "here", "."],
}


def write_ewt(path: Path) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for split, words in EWT_SPLITS.items():
            lines = [f"{split} 0 {i} {word} XX - - - - - * -" for i, word in enumerate(words)]
            text = f"#begin document ({split}); part 000\n" + "\n".join(lines) + "\n\n"
            encoded = (text + "#end document\n").encode("utf-8")
            member = tarfile.TarInfo(f"conll2012/{split}/answers/{split}.gold_conll")
            member.size = len(encoded)
            archive.addfile(member, io.BytesIO(encoded))
    return path


def build_table(frames: Path, output: Path, examples: Path, ewt: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            str(frames),
            "-o",
            str(output),
            "--examples-output",
            str(examples),
            "--ewt",
            str(ewt),
        ],
        check=True,
        capture_output=True,
    )


def test_the_committed_script_builds_a_table_from_frame_files(tmp_path):
    """
    The script on a small frame-file archive of the real layout: every roleset's name and roles,
    every alias by part of speech, the same bytes on every build; and the shipped table is
    written exactly as the script writes (a table edited by hand would not be).
    """
    frames = tmp_path / "frames.tar.xz"
    with tarfile.open(frames, "w:xz") as archive:
        data = FRAME_FILE.encode("utf-8")
        member = tarfile.TarInfo("frames/approve.xml")
        member.size = len(data)
        archive.addfile(member, io.BytesIO(data))
    first, second = tmp_path / "first.json.gz", tmp_path / "second.json.gz"
    examples = [tmp_path / "first-examples.json.gz", tmp_path / "second-examples.json.gz"]
    ewt = write_ewt(tmp_path / "ewt.tar.gz")
    build_table(frames, first, examples[0], ewt)
    build_table(frames, second, examples[1], ewt)
    assert first.read_bytes() == second.read_bytes()
    assert examples[0].read_bytes() == examples[1].read_bytes()
    # The examples whose predicate is one word, but not the one whose sentence is EWT dev's.
    assert read_examples(str(examples[0])) == [
        RolesetExample("approve.01", ["The", "board", "approved", "the", "plan", "."], 2),
        RolesetExample("approve.02", ["The", "manager", "approved", "."], 2),
    ]
    with gzip.open(examples[0], "rt", encoding="utf-8") as built:
        assert json.load(built)["left_out"] == {
            "held out": 1,
            "malformed": 1,
            "predicate not one word": 2,
        }
    with gzip.open(first, "rt", encoding="utf-8") as built:
        table = json.load(built)
    assert table["rolesets"] == {
        "approve.01": [
            "assent to",
            {"ARG0": "approver", "ARG1": "thing approved", "ARGM-TMP": "time"},
        ],
        "approve.02": ["sign off", {"ARG0": "signer"}],
    }
    assert table["aliases"] == {
        "approval": {"n": ["approve.01"]},
        "approve": {"v": ["approve.01", "approve.02"]},
    }
    assert RolesetTable.read(str(first)).get("approve.01").describe("R-ARG0") == "approver"

    # The shipped table and examples, written again as the script writes them, are the same
    # bytes.
    for path in (TABLE_PATH, EXAMPLES_PATH):
        with gzip.open(path, "rt", encoding="utf-8") as shipped_file:
            shipped = json.load(shipped_file)
        assert shipped["source"].startswith("PropBank frame files v3.4")
        text = json.dumps(shipped, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        rewritten = io.BytesIO()
        with gzip.GzipFile(fileobj=rewritten, mode="wb", mtime=0, filename="") as compressed:
            compressed.write(text.encode("utf-8"))
        assert rewritten.getvalue() == path.read_bytes()


@pytest.mark.frames
def test_the_shipped_table_is_what_the_committed_script_builds(tmp_path):
    """
    The package's table is rebuilt byte for byte from PropBank's frame files (`frames` marker:
    they lie beside the repository, in ../shared, not in it; `make test` selects this test
    where they are).
    """
    assert FRAMES.exists(), f"no frame files at {FRAMES} (the frames marker needs them)"
    output, examples = tmp_path / "rolesets.json.gz", tmp_path / "examples.json.gz"
    build_table(FRAMES, output, examples, PROJECT_ROOT / "data/ewt_propbank_srl.tar.gz")
    assert output.read_bytes() == TABLE_PATH.read_bytes()
    assert examples.read_bytes() == EXAMPLES_PATH.read_bytes()
    assert sorted(tmp_path.iterdir()) == [examples, output]
