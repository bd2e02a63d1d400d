"""
`srl-onnx EXPORT [--int8]`: writes the ONNX form of an export into `EXPORT/onnx/`
(`srl_plugin.hf.checkpoints.onnx_export`), for `srl-label --runtime onnxruntime` and for ONNX
Runtime in other languages. Needs the `onnx` extra (`pip install "srl_plugin[onnx]"`).
"""

import argparse
import os
import sys
from typing import List, Optional

from srl_plugin.hf.cli.options import CommandError, Parser, console_main, positive_int

PROG = "srl-onnx"


def main(argv: Optional[List[str]] = None) -> int:
    """The `srl-onnx` console script."""
    return console_main(_parser(), _run, argv)


def _parser() -> argparse.ArgumentParser:
    from srl_plugin.hf.checkpoints.onnx_export import DEFAULT_OPSET

    parser = Parser(
        prog=PROG,
        description="Write the ONNX form of an srl_plugin export into EXPORT/onnx/: fp32 graphs "
        "checked against PyTorch, and with --int8 their dynamic int8 quantization; "
        "manifest.json says what to feed them.",
    )
    parser.add_argument("export", help="a local export folder")
    parser.add_argument(
        "--int8", action="store_true", help="also write int8 graphs (dynamic quantization)"
    )
    parser.add_argument(
        "--per-tensor",
        action="store_true",
        help="int8 weights quantized per tensor (default: per output channel)",
    )
    parser.add_argument(
        "--opset", type=positive_int, default=DEFAULT_OPSET, help="ONNX opset version"
    )
    parser.add_argument("--force", action="store_true", help="replace EXPORT/onnx if it exists")
    return parser


def _run(args: argparse.Namespace) -> None:
    from srl_plugin.hf.checkpoints.onnx_export import write_onnx

    if not os.path.isdir(args.export):
        raise CommandError(f"{args.export!r} is not an export folder")
    folder = write_onnx(
        args.export,
        int8=args.int8,
        opset=args.opset,
        per_channel=not args.per_tensor,
        overwrite=args.force,
    )
    for name in sorted(os.listdir(folder)):
        size = os.path.getsize(os.path.join(folder, name))
        print(f"{os.path.join(folder, name)}\t{size / 2**20:.1f} MiB")


if __name__ == "__main__":
    sys.exit(main())
