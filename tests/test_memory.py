"""Memory: the dropout explorer reads Fashion-MNIST once and keeps one copy of its test set.

The kernel-level figures (every notebook's peak ≤ 1 GB) are benchmarks/bench_memory.py's rows: a notebook
run in a fresh kernel takes tens of seconds, too slow for the unit tests.
"""

import gzip
import struct

import pytest
import torch

from wd_helpers import data as data_module
from wd_helpers.data import FASHION_MNIST_CLASSES, FASHION_MNIST_FILES, ImageData, load_course_images, read_idx
from wd_helpers.widgets import dropout_explorer


def idx_bytes(array: torch.Tensor) -> bytes:
    """IDX encoding: magic 0x000008NN, NN big-endian uint32 sizes, the bytes."""
    header = struct.pack(">I", 0x800 | array.dim()) + struct.pack(f">{array.dim()}I", *array.shape)
    return header + array.numpy().tobytes()


@pytest.fixture
def fashion_files(tmp_path, monkeypatch):
    """Fashion-MNIST-shaped files (2×2 images, ``n`` training and 40 test images) in tmp_path; returns
    a counter of how often the loader read them. The published checksums are not these files' sums,
    so the loader is replaced by a reader of the same files (as the real one converts them)."""
    reads = []

    def write(n: int):
        g = torch.Generator().manual_seed(n)
        arrays = (torch.randint(0, 256, (n, 2, 2), generator=g, dtype=torch.uint8), torch.arange(n) % 10,
                  torch.randint(0, 256, (40, 2, 2), generator=g, dtype=torch.uint8), torch.arange(40) % 10)
        for name, array in zip(FASHION_MNIST_FILES, arrays):
            (tmp_path / name).write_bytes(gzip.compress(idx_bytes(array.to(torch.uint8))))
        return tmp_path

    def load(root, **_):
        reads.append(root)
        X_train, y_train, X_test, y_test = (read_idx(root / name) for name in FASHION_MNIST_FILES)
        return ImageData(X_train.flatten(1).float() / 255.0, y_train.long(), X_test.flatten(1).float() / 255.0,
                         y_test.long(), 10, (2, 2), "Fashion-MNIST", FASHION_MNIST_CLASSES)

    monkeypatch.setattr(data_module, "load_fashion_mnist", load)
    return write, reads


def same_data(a: ImageData, b: ImageData) -> bool:
    return all(torch.equal(getattr(a, f), getattr(b, f)) for f in ("X_train", "y_train", "X_test", "y_test")) and (
        a.name, a.image_shape) == (b.name, b.image_shape)


def test_the_dropout_explorer_reads_fashion_mnist_once_and_shares_its_test_set(fashion_files):
    write, reads = fashion_files
    root = write(3000)
    explorer = dropout_explorer(num_epochs=1, root=root)  # Fashion-MNIST's own size: 2 000 of the 3 000
    sizes = explorer.n_train_choices
    assert sizes[-1] == 2000 and len(reads) == 1
    every = {n: explorer.data(n) for n in sizes}
    assert len(reads) == 1  # every other size was cut from the one read, none re-read the files
    test_set = every[2000].X_test.untyped_storage().data_ptr()
    assert all(d.X_test.untyped_storage().data_ptr() == test_set for d in every.values())  # one copy
    for n, data in every.items():  # ... and each size is exactly what the loader gives for it
        assert data.n_train == n and same_data(data, load_course_images(root, seed=0, n_train=n)[0])


def test_the_whole_training_file_is_never_cut(fashion_files):
    """The loader returns the whole file in file order, not in its stratified order: cutting that
    would give other images than the loader's for the smaller sizes."""
    write, reads = fashion_files
    root = write(1500)  # fewer than 2 000: the explorer starts on the whole file
    explorer = dropout_explorer(num_epochs=1, root=root)
    assert explorer.sliders["n_train"].value == 1500
    assert same_data(explorer.data(1200), load_course_images(root, seed=0, n_train=1200)[0])


def test_the_digits_test_set_is_the_rest_at_every_size(tmp_path):
    explorer = dropout_explorer(num_epochs=1, root=tmp_path)  # an empty folder: the bundled digits
    for n in (100, 1200):
        data = explorer.data(n)
        assert data.n_test == 1797 - n and same_data(data, load_course_images(tmp_path, seed=0, n_train=n)[0])
