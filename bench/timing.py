"""The timing loop the benchmarks share (imported as a sibling: run them as `python bench/<name>.py`)."""

import time

import numpy as np
from tqdm import tqdm


def timed(fn, repeats: int, label: str) -> np.ndarray:
    """Milliseconds per call of ``fn`` over ``repeats`` calls, after one warm-up call (caches,
    imports, thread pools), with a progress bar named ``label``."""
    fn()
    times = np.empty(repeats)
    for i in tqdm(range(repeats), desc=label, leave=False):
        start = time.perf_counter()
        fn()
        times[i] = time.perf_counter() - start
    return times * 1e3
