"""Karpenter-like first-fit-decreasing on integer resource vectors (the numeric core of `packing.ffd`).

Pods are taken largest first (the caller orders the classes: CPU, then memory, descending). A node
is opened for a pod that fits no open node; it starts with every instance type the pod fits and,
as pods are added, keeps only the types that still fit everything placed on it. A pod goes to the
first open node (in opening order) where some remaining type fits it. When all pods are placed,
each node becomes the cheapest of its remaining types (ties by name: `rank`).

Identical pods are placed in bulk, which is the same as placing them one by one: a pod of a class
that does not fit node j leaves node j unchanged, so the next pod of that class does not fit it
either; the pods of a class therefore fill open nodes in order, each as far as its best remaining
type allows, and then fill new nodes the same way.
"""

from __future__ import annotations

import numpy as np

BIG = np.int64(1) << 40


def per_node(free: np.ndarray, size: np.ndarray) -> np.ndarray:
    """How many pods of `size` fit in each free-capacity vector (last axis = resources)."""
    used = size > 0
    if not used.any():
        return np.full(free.shape[:-1], BIG, dtype=np.int64)
    return np.floor_divide(free[..., used], size[used]).min(axis=-1)


def _grow(array: np.ndarray, rows: int) -> np.ndarray:
    out = np.zeros((rows, array.shape[1]), dtype=array.dtype)
    out[:array.shape[0]] = array
    return out


def first_fit_decreasing(size: np.ndarray, demand: np.ndarray, cap: np.ndarray, kind: np.ndarray,
                         rank: np.ndarray) -> tuple[list[tuple[int, np.ndarray]], list[int]]:
    """size: classes x resources, demand: classes, cap: types x resources (all int64);
    kind: classes x types, whether a class may sit on a type at all (GPU rules);
    rank: types, the position of each type in (price, name) order.

    Returns the nodes in opening order as (type index, replicas per class) and the classes that fit
    no type (left unplaced)."""
    m, dims = size.shape
    n_types = cap.shape[0]
    rows_held = max(16, min(int(demand.sum()), 1024))
    used = np.zeros((rows_held, dims), dtype=np.int64)
    cand = np.zeros((rows_held, n_types), dtype=bool)
    contents = np.zeros((rows_held, m), dtype=np.int64)
    open_nodes = 0
    unplaced: list[int] = []
    for i in range(m):
        left = int(demand[i])
        if left <= 0:
            continue
        s = size[i]
        alone = np.where(kind[i], per_node(cap, s), 0)
        cols = np.nonzero(alone > 0)[0]
        if cols.size == 0:
            unplaced.append(i)
            continue
        if open_nodes:
            rows = np.nonzero(cand[:open_nodes][:, cols].any(axis=1))[0]
            if rows.size:
                free = cap[cols][None, :, :] - used[rows][:, None, :]
                k = np.where(cand[np.ix_(rows, cols)], per_node(free, s), 0).clip(min=0)
                best = k.max(axis=1)
                before = np.cumsum(best) - best
                take = np.clip(left - before, 0, best)
                hit = take > 0
                if hit.any():
                    r, t = rows[hit], take[hit]
                    used[r] += t[:, None] * s[None, :]
                    contents[r, i] += t
                    keep = np.zeros((r.size, n_types), dtype=bool)
                    keep[:, cols] = k[hit] >= t[:, None]
                    cand[r] &= keep
                    left -= int(t.sum())
        if left > 0:
            most = int(alone.max())
            full, rest = divmod(left, most)
            takes = [most] * full + ([rest] if rest else [])
            if open_nodes + len(takes) > rows_held:          # grow the node arrays
                rows_held = max(2 * rows_held, open_nodes + len(takes))
                used, cand, contents = (_grow(x, rows_held) for x in (used, cand, contents))
            for t in takes:
                used[open_nodes] = t * s
                contents[open_nodes, i] = t
                cand[open_nodes] = alone >= t
                open_nodes += 1
    nodes = []
    for j in range(open_nodes):
        t = int(np.where(cand[j], rank, np.iinfo(np.int64).max).argmin())
        nodes.append((t, contents[j].copy()))
    return nodes, unplaced
