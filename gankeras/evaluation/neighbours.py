"""Chunked Euclidean nearest-neighbour search in numpy.

Shared by precision/recall (k-NN radii, ball membership), memorization (nearest training
image) and the Parzen window (all pairwise distances). Distances come from
`|a|^2 + |b|^2 - 2 a.b` in float32 blocks of `chunk` rows, so 10,000 x 10,000
feature vectors take about a second on two cores and bounded memory.
"""

import numpy as np

_CHUNK = 1024


def squared_distance_blocks(queries, references, chunk=_CHUNK):
    """Yields `(start, d2)`: squared distances `[rows, len(references)]` of
    `queries[start:start + rows]` to every reference row, clipped at 0."""
    queries = np.asarray(queries, np.float32)
    references = np.asarray(references, np.float32)
    ref_norms = np.einsum("ij,ij->i", references, references)
    minus_two_ref_t = np.ascontiguousarray(-2.0 * references.T)
    for start in range(0, len(queries), chunk):
        block = queries[start : start + chunk]
        d2 = block @ minus_two_ref_t  # in place from here on: no temporaries
        d2 += np.einsum("ij,ij->i", block, block)[:, None]
        d2 += ref_norms[None, :]
        np.maximum(d2, 0.0, out=d2)
        yield start, d2


def kth_neighbour_distance(points, k, chunk=_CHUNK):
    """Distance `[n]` from each row of `points` to its k-th nearest other row
    (the point itself, at distance 0, is not counted)."""
    points = np.asarray(points, np.float32)
    radii = np.empty(len(points), np.float64)
    for start, d2 in squared_distance_blocks(points, points, chunk):
        rows = np.arange(len(d2))
        d2[rows, start + rows] = np.inf  # exclude self
        radii[start : start + len(d2)] = np.partition(d2, k - 1, axis=1)[:, k - 1]
    return np.sqrt(radii)


def nearest_neighbours(queries, references, chunk=_CHUNK):
    """`(distances [n], indices [n])` of each query's nearest reference."""
    distances = np.empty(len(queries), np.float64)
    indices = np.empty(len(queries), np.int64)
    for start, d2 in squared_distance_blocks(queries, references, chunk):
        best = np.argmin(d2, axis=1)
        indices[start : start + len(d2)] = best
        distances[start : start + len(d2)] = np.sqrt(d2[np.arange(len(d2)), best])
    return distances, indices


def mutual_ball_membership(a, a_radii, b, b_radii, chunk=_CHUNK):
    """Which points of each set lie inside a ball of the other set.

    One pass over the cross distances serves both directions (the
    precision and the recall of Kynkäänniemi et al. 2019).

    Args:
        a, b: float `[n, d]` and `[m, d]` points.
        a_radii, b_radii: `[n]` and `[m]` ball radii around them.

    Returns:
        `(a_in_b [n], b_in_a [m])` booleans: `a_in_b[i]` is whether `a[i]`
        lies within `b_radii[j]` of some `b[j]`, and conversely.
    """
    a_radii2 = np.square(np.asarray(a_radii, np.float32))
    b_radii2 = np.square(np.asarray(b_radii, np.float32))[None, :]
    a_in_b = np.empty(len(a), bool)
    b_in_a = np.zeros(len(b), bool)
    for start, d2 in squared_distance_blocks(a, b, chunk):
        a_in_b[start : start + len(d2)] = np.any(d2 <= b_radii2, axis=1)
        b_in_a |= np.any(d2 <= a_radii2[start : start + len(d2), None], axis=0)
    return a_in_b, b_in_a
