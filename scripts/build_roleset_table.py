"""
Builds the compact roleset table that the package ships (`srl_plugin/data/propbank_rolesets.json.gz`)
from PropBank's frame files (v3.4, CC BY-SA 4.0): for every roleset its name and its numbered
roles' descriptions, and for every alias (the verb, noun and adjective forms that share a roleset:
"approval" -> `approve.01`) its rolesets by part of speech. Read by `srl_plugin.hf.rolesets`.

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
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from srl_plugin.archives.safe_tar import read_tar  # noqa: E402
from srl_plugin.hf.rolesets import TABLE_PATH  # noqa: E402

DEFAULT_FRAMES = ROOT.parent / "shared" / "data" / "propbank_frames" / "propbank-frames-3.4.tar.xz"
SOURCE = (
    "PropBank frame files v3.4 (github.com/propbank/propbank-frames, commit "
    "c66e0ccf28b53f00051b187db83e937b5bee2e32), CC BY-SA 4.0"
)
# Examples are not needed, and two upstream files (check.xml, rend.xml) have malformed ones.
_EXAMPLE = re.compile(rb"<example\b.*?</example>", re.DOTALL)


def role_name(number: str, function: str) -> str:
    """`ARG0` for role n="0"; `ARGM-LOC` for the few modifier roles (n="m", f="LOC")."""
    if number.isdigit():
        return f"ARG{number}"
    return f"ARGM-{function.upper()}"


def read_frames(archive: str) -> Dict[str, Any]:
    """The table of every `frames/*.xml` in the frame files' archive."""
    rolesets: Dict[str, List[Any]] = {}
    aliases: Dict[str, Dict[str, List[str]]] = {}
    files = read_tar(archive)
    names = sorted(name for name in files if re.search(r"(^|/)frames/[^/]+\.xml$", name))
    if not names:
        raise ValueError(f"{archive}: no frames/*.xml inside")
    for name in names:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument(
        "frames", nargs="?", default=str(DEFAULT_FRAMES), help="frame files .tar.xz"
    )
    parser.add_argument("-o", "--output", default=str(TABLE_PATH))
    args = parser.parse_args()
    table = read_frames(args.frames)
    data = json.dumps(table, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    temporary = args.output + ".tmp"
    with open(temporary, "wb") as output:
        with gzip.GzipFile(fileobj=output, mode="wb", mtime=0, filename="") as compressed:
            compressed.write(data.encode("utf-8"))
    os.replace(temporary, args.output)
    print(
        f"{args.output}: {len(table['rolesets'])} rolesets, {len(table['aliases'])} aliases, "
        f"{os.path.getsize(args.output)} bytes"
    )


if __name__ == "__main__":
    main()
