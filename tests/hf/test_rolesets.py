import gzip
import json

import pytest

from srl_plugin.hf.rolesets import TABLE_PATH, Roleset, RolesetTable, fallback_roleset


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


def test_the_shipped_table_is_what_the_committed_script_builds(tmp_path):
    """The package's table is reproducible from PropBank's frame files (where they are at hand)."""
    import subprocess
    import sys

    from tests import PROJECT_ROOT

    frames = PROJECT_ROOT.parent / "shared/data/propbank_frames/propbank-frames-3.4.tar.xz"
    if not frames.exists():
        pytest.skip(f"no frame files at {frames}")
    output = tmp_path / "rolesets.json.gz"
    subprocess.run(
        [
            sys.executable,
            str(PROJECT_ROOT / "scripts/build_roleset_table.py"),
            str(frames),
            "-o",
            str(output),
        ],
        check=True,
        capture_output=True,
    )
    assert output.read_bytes() == TABLE_PATH.read_bytes()
    assert list(tmp_path.iterdir()) == [output]
