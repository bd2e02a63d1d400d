"""Summing metric counts across workers, on the device the process group's backend needs."""

from typing import List, Sequence

import torch
import torch.distributed as dist


def reduction_device() -> torch.device:
    """
    Where a tensor must live to be all-reduced: NCCL (every multi-GPU AllenNLP run) only
    reduces CUDA tensors, gloo and MPI reduce CPU tensors.
    """
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def all_reduce_sum(rows: Sequence[Sequence[int]]) -> List[List[int]]:
    """Sums integer counts (rows of equal length) over all workers; every worker gets the sum."""
    tensor = torch.tensor([list(row) for row in rows], dtype=torch.long, device=reduction_device())
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor.tolist()
