"""
Builds what the package ships from PropBank's frame files (v3.4, CC BY-SA 4.0), read by
`srl_plugin.hf.rolesets`:

- the compact roleset table (`srl_plugin/data/propbank_rolesets.json.gz`): for every roleset its
  name and its numbered roles' descriptions, and for every alias (the verb, noun and adjective
  forms that share a roleset: "approval" -> `approve.01`) its rolesets by part of speech;
- the rolesets' examples (`srl_plugin/data/propbank_examples.json.gz`): each example sentence of
  the frame files whose predicate is one word, as `[roleset, words joined by spaces, predicate
  index]`, for fitting a sense head (`srl-fit-predicates --heads sense --frame-examples`). An
  example whose sentence is one of EWT PropBank's dev or test sentences (the shipped
  `data/ewt_propbank_srl.tar.gz`, compared on letters and digits only) is left out, so that
  those stay held out.

    python scripts/build_roleset_table.py [../shared/data/propbank_frames/propbank-frames-3.4.tar.xz]

The output is deterministic (sorted keys, no timestamp in the gzip header): rebuilding from the
same frame files gives the same bytes.
"""

import argparse
import gzip
import json
import os
import re
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any, Dict, Iterable, List, Set

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from srl_plugin.archives.safe_tar import read_tar, safe_extract  # noqa: E402
from srl_plugin.hf.conll import read_conll2012  # noqa: E402
from srl_plugin.hf.rolesets import EXAMPLES_PATH, TABLE_PATH  # noqa: E402

DEFAULT_FRAMES = ROOT.parent / "shared" / "data" / "propbank_frames" / "propbank-frames-3.4.tar.xz"
# EWT PropBank as the repository ships it; its dev and test sentences are kept out of the examples.
EWT = ROOT / "data" / "ewt_propbank_srl.tar.gz"
HELD_OUT = ("conll2012/dev", "conll2012/test")
SOURCE = (
    "PropBank frame files v3.4 (github.com/propbank/propbank-frames, commit "
    "c66e0ccf28b53f00051b187db83e937b5bee2e32), CC BY-SA 4.0"
)
# Examples are read one by one (two upstream files, check.xml and rend.xml, have malformed ones),
# each with the roleset it lies in.
_EXAMPLE = re.compile(rb"<example\b.*?</example>", re.DOTALL)
_ROLESET = re.compile(rb"<roleset\b[^>]*?\bid=\"([^\"]+)\".*?</roleset>", re.DOTALL)


def role_name(number: str, function: str) -> str:
    """`ARG0` for role n="0"; `ARGM-LOC` for the few modifier roles (n="m", f="LOC")."""
    if number.isdigit():
        return f"ARG{number}"
    return f"ARGM-{function.upper()}"


def frame_files(archive: str) -> Dict[str, bytes]:
    """Every `frames/*.xml` of the frame files' archive, by name, sorted."""
    files = read_tar(archive)
    names = sorted(name for name in files if re.search(r"(^|/)frames/[^/]+\.xml$", name))
    if not names:
        raise ValueError(f"{archive}: no frames/*.xml inside")
    return {name: files[name] for name in names}


def read_frames(archive: str) -> Dict[str, Any]:
    """The table of every `frames/*.xml` in the frame files' archive."""
    rolesets: Dict[str, List[Any]] = {}
    aliases: Dict[str, Dict[str, List[str]]] = {}
    files = frame_files(archive)
    for name in files:
        try:
            root = ElementTree.fromstring(_EXAMPLE.sub(b"", files[name]))
        except ElementTree.ParseError as error:
            raise ValueError(f"{archive}: {name} is not well-formed XML: {error}") from None
        for roleset in root.iter("roleset"):
            identifier = roleset.get("id") or ""
            roles = {
                role_name(role.get("n") or "", role.get("f") or ""): (
                    role.get("descr") or ""
                ).strip()
                for role in roleset.iter("role")
            }
            rolesets[identifier] = [(roleset.get("name") or "").strip(), roles]
            for alias in roleset.iter("alias"):
                text = (alias.text or "").strip().lower()
                if not text:
                    continue
                forms = aliases.setdefault(text, {}).setdefault(alias.get("pos") or "", [])
                if identifier not in forms:
                    forms.append(identifier)
    for forms in aliases.values():
        for identifiers in forms.values():
            identifiers.sort()
    return {"source": SOURCE, "rolesets": rolesets, "aliases": aliases}


def letters(text: str) -> str:
    """A sentence compared whatever its tokenization: its letters and digits, lowercased."""
    return re.sub(r"[\W_]+", "", text.lower())


def held_out_sentences(ewt: str) -> Set[str]:
    """The dev and test sentences of an EWT PropBank archive (`letters` of each)."""
    with tempfile.TemporaryDirectory() as folder:
        safe_extract(ewt, folder)
        return {
            letters("".join(sentence.words))
            for split in HELD_OUT
            for sentence in read_conll2012(os.path.join(folder, split))
        }


def read_examples(archive: str, held_out: Iterable[str] = ()) -> Dict[str, Any]:
    """
    The examples of every roleset in the frame files' archive whose predicate (`rel`) is one
    word: `[roleset, words joined by spaces, predicate index]`, in file order, leaving out those
    whose sentence `letters` are in `held_out` and those that do not parse.
    """
    excluded = set(held_out)
    examples: List[List[Any]] = []
    left_out = {"held out": 0, "malformed": 0, "predicate not one word": 0}
    for data in frame_files(archive).values():
        for roleset in _ROLESET.finditer(data):
            identifier = roleset.group(1).decode("utf-8")
            for text in _EXAMPLE.findall(roleset.group(0)):
                try:
                    example = ElementTree.fromstring(text)
                except ElementTree.ParseError:
                    left_out["malformed"] += 1
                    continue
                words = (example.findtext("text") or "").split()
                rels = example.findall("propbank/rel")
                where = (rels[0].get("relloc") or "").split() if len(rels) == 1 else []
                if len(where) != 1 or not where[0].isdigit() or int(where[0]) >= len(words):
                    left_out["predicate not one word"] += 1
                    continue
                if letters("".join(words)) in excluded:
                    left_out["held out"] += 1
                    continue
                examples.append([identifier, " ".join(words), int(where[0])])
    return {"source": SOURCE, "examples": examples, "left_out": left_out}


def write_json_gz(data: Dict[str, Any], path: str) -> None:
    """`data` as compact JSON (sorted keys), gzipped without a timestamp, written atomically."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    temporary = path + ".tmp"
    with open(temporary, "wb") as output:
        with gzip.GzipFile(fileobj=output, mode="wb", mtime=0, filename="") as compressed:
            compressed.write(text.encode("utf-8"))
    os.replace(temporary, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument(
        "frames", nargs="?", default=str(DEFAULT_FRAMES), help="frame files .tar.xz"
    )
    parser.add_argument("-o", "--output", default=str(TABLE_PATH), help="the roleset table")
    parser.add_argument(
        "--examples-output", default=str(EXAMPLES_PATH), help="the rolesets' examples"
    )
    parser.add_argument(
        "--ewt", default=str(EWT), help="EWT PropBank .tar.gz whose dev and test are held out"
    )
    args = parser.parse_args()
    table = read_frames(args.frames)
    write_json_gz(table, args.output)
    print(
        f"{args.output}: {len(table['rolesets'])} rolesets, {len(table['aliases'])} aliases, "
        f"{os.path.getsize(args.output)} bytes"
    )
    examples = read_examples(args.frames, held_out_sentences(args.ewt))
    write_json_gz(examples, args.examples_output)
    print(
        f"{args.examples_output}: {len(examples['examples'])} examples, left out "
        + ", ".join(f"{count} {why}" for why, count in examples["left_out"].items())
        + f", {os.path.getsize(args.examples_output)} bytes"
    )


if __name__ == "__main__":
    main()
