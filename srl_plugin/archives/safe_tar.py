"""
Reading tar archives that may be hostile (no AllenNLP needed).

`read_tar` is the one reader: it reads every member into memory and checks the whole archive
(member names, links, the gzip CRC and length) before a caller writes anything, so a truncated
or malicious archive leaves nothing behind, and an interrupted run leaves no extracted folder.
Links and special files are judged by `tarfile`'s own PEP 706 `data` filter; what the filter
does not do is checked here: absolute names (the filter strips the `/` and extracts them inside),
names with `..`, members that appear twice or lie inside a link, and links to anything but a
file of the same archive, which become copies of it.

`use_checked_extraction` makes AllenNLP's `load_archive` (`allennlp predict`, `evaluate`), which
calls `tarfile.extractall` without a filter, extract through `read_tar` instead. `use_data_filter`
makes every other extraction in the process use the `data` filter, as a second line of defence:
the filter of a Python before the June 2025 releases can be got around (CVE-2025-4517).
"""

import logging
import os
import posixpath
import shutil
import tarfile
import tempfile
import zlib
from contextlib import contextmanager
from typing import Dict, Iterator, List, Tuple

from srl_plugin.hf.checkpoints.weights import CheckpointError

logger = logging.getLogger(__name__)

# Where `data_filter` pretends to extract: it only judges names, nothing is written there.
_FILTER_ROOT = os.path.join(os.sep, "srl_plugin_tar_root")


def use_data_filter() -> bool:
    """
    Makes PEP 706's `data` filter the default of every `TarFile.extract`/`extractall` of the
    process that passes no filter of its own: members with absolute or `..` paths that leave
    the folder, links leading outside it and device files are refused. Leaves a filter already
    chosen by the program alone. Returns whether the `data` filter is now the default (False on
    a Python without PEP 706: before 3.8.17, 3.9.17, 3.10.12, 3.11.4).
    """
    if not hasattr(tarfile, "data_filter"):
        return False
    if tarfile.TarFile.extraction_filter is None:
        tarfile.TarFile.extraction_filter = staticmethod(tarfile.data_filter)  # type: ignore
    return tarfile.TarFile.extraction_filter is tarfile.data_filter


def read_tar(archive: str) -> Dict[str, bytes]:
    """
    Every file of a tar archive (gzipped or not), by its normalized path inside the archive.
    Links to files of the archive are given the file's content.

    # Raises

    `CheckpointError` naming the archive and the problem: a member with an absolute path or
    `..`, a link leading outside the archive or to a folder, a device or fifo, a member that
    appears twice or lies inside a link, or a truncated or corrupt file.
    """
    try:
        with tarfile.open(archive, "r:*") as tar:
            members: List[tarfile.TarInfo] = []
            files: Dict[str, bytes] = {}
            # One pass in archive order: the gzip stream is never decompressed twice.
            for member in tar:
                members.append(member)
                if member.isfile():
                    source = tar.extractfile(member)
                    assert source is not None  # a regular file always has data
                    files[_member_path(archive, member.name)] = source.read()
            # Reading to the end checks the gzip trailer (length and CRC) too.
            while tar.fileobj.read(1 << 20):  # type: ignore[union-attr]
                pass
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        if isinstance(error, FileNotFoundError) and not os.path.exists(archive):
            raise CheckpointError(f"{archive}: no such archive") from None
        raise CheckpointError(
            f"{archive}: not a readable tar.gz archive (truncated or corrupt?): {error}"
        ) from None
    for link, target in _check_members(archive, members):
        files[link] = files[target]
    return files


def safe_extract(archive: str, target: str) -> None:
    """
    Extracts a tar archive (gzipped or not) into the folder `target`, after `read_tar` has
    checked all of it: a refused archive writes nothing. Links are written as copies.
    """
    files = read_tar(archive)
    created = not os.path.exists(target)
    try:
        os.makedirs(target, exist_ok=True)
        _write_files(files, target)
    except OSError:
        if created:
            shutil.rmtree(target, ignore_errors=True)
        raise


@contextmanager
def checked_extracted_archive(resolved_archive_file: str, cleanup: bool = True) -> Iterator[str]:
    """
    AllenNLP's `allennlp.models.archival.extracted_archive`, which `load_archive` extracts
    archives with, reading the archive with `read_tar` first: a refused archive raises
    `CheckpointError` naming the member before any folder exists. Yields a new folder of the
    temporary folder with the archive's files (links as copies), removed afterwards when
    `cleanup` (`load_archive` passes False and removes it itself).
    """
    files = read_tar(resolved_archive_file)
    folder = tempfile.mkdtemp()
    logger.info("extracting archive file %s to temp dir %s", resolved_archive_file, folder)
    try:
        _write_files(files, folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    del files  # on disk now: not held while the caller reads them
    try:
        yield folder
    finally:
        if cleanup:
            shutil.rmtree(folder, ignore_errors=True)


def use_checked_extraction() -> None:
    """
    Makes AllenNLP's `load_archive` (`allennlp predict`, `evaluate`, `Predictor.from_path`) and
    its `pretrained` initializer extract archives with `checked_extracted_archive`: every member
    is checked by `read_tar`, not by the `data` filter of whichever Python runs. Imports AllenNLP.
    """
    from allennlp.models import archival

    # Both callers look the function up in the module when they extract.
    archival.extracted_archive = checked_extracted_archive


def _write_files(files: Dict[str, bytes], target: str) -> None:
    for path, data in files.items():
        destination = os.path.join(target, *path.split("/"))
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        with open(destination, "wb") as output:
            output.write(data)


def _member_path(archive: str, name: str) -> str:
    # A member's path inside the archive; the filter strips a leading "/" and allows ".." that
    # stays inside, but neither belongs in a model archive.
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise CheckpointError(f"{archive}: refusing member {name!r}: absolute path")
    if ".." in name.replace("\\", "/").split("/"):
        raise CheckpointError(f"{archive}: refusing member {name!r}: path contains '..'")
    return posixpath.normpath(name)


def _check_members(archive: str, members: List[tarfile.TarInfo]) -> List[Tuple[str, str]]:
    """
    Checks every member; returns each link's path and the file it points to. Only files,
    folders and links to files of the same archive are admitted: a link to a folder would let
    another member be written through it.
    """
    paths = {member.name: _member_path(archive, member.name) for member in members}
    seen = set()
    for member in members:
        if not member.isdir() and paths[member.name] in seen:
            raise CheckpointError(f"{archive}: refusing member {member.name!r}: it appears twice")
        seen.add(paths[member.name])
        _apply_data_filter(archive, member)
    files = {paths[m.name] for m in members if m.isfile()}
    links = []
    for member in members:
        if member.issym() or member.islnk():
            path = paths[member.name]
            base = posixpath.dirname(path) if member.issym() else ""
            target = posixpath.normpath(posixpath.join(base, member.linkname))
            if target not in files:
                raise CheckpointError(
                    f"{archive}: refusing link {member.name!r}: {member.linkname!r} is not a "
                    "file of the archive"
                )
            links.append((path, target))
    linked = {path for path, _ in links}
    for path in paths.values():
        parent = posixpath.dirname(path)
        while parent:
            if parent in linked:
                raise CheckpointError(f"{archive}: refusing member {path!r} inside link {parent!r}")
            parent = posixpath.dirname(parent)
    return links


def _apply_data_filter(archive: str, member: tarfile.TarInfo) -> None:
    if not hasattr(tarfile, "data_filter"):
        _check_without_filter(archive, member)
        return
    try:
        tarfile.data_filter(member, _FILTER_ROOT)
    except (tarfile.AbsoluteLinkError, tarfile.LinkOutsideDestinationError):
        raise CheckpointError(
            f"{archive}: refusing link {member.name!r} to {member.linkname!r} outside the archive"
        ) from None
    except tarfile.SpecialFileError:
        raise CheckpointError(
            f"{archive}: refusing member {member.name!r}: not a file or folder"
        ) from None
    except tarfile.FilterError as error:
        raise CheckpointError(f"{archive}: refusing member {member.name!r}: {error}") from None


def _check_without_filter(archive: str, member: tarfile.TarInfo) -> None:
    # What `data_filter` checks of links and file types, for Pythons without PEP 706.
    if member.issym() or member.islnk():
        base = posixpath.dirname(_member_path(archive, member.name)) if member.issym() else ""
        target = posixpath.normpath(posixpath.join(base, member.linkname))
        if member.linkname.startswith("/") or target == ".." or target.startswith("../"):
            raise CheckpointError(
                f"{archive}: refusing link {member.name!r} to {member.linkname!r} "
                "outside the archive"
            )
    elif not (member.isfile() or member.isdir()):
        raise CheckpointError(f"{archive}: refusing member {member.name!r}: not a file or folder")
