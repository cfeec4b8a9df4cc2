"""Data: the seeded weight-decay regression (the d2l setting), fast minibatches, and image data.

Image data for the dropout notebook: scikit-learn's bundled 8×8 digits (always available), and
Fashion-MNIST read by our own IDX reader, checked against its published MD5 sums and downloaded
(only when asked) atomically: a file appears under its final name only once it is complete.
"""

import contextlib
import gzip
import hashlib
import math
import os
import struct
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import torch

from .device import on_course_device


@dataclass(frozen=True)
class RegressionData:
    """Train and test splits of y = Xw* + b* + noise. X: (n, d), y: (n, 1)."""

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    true_w: torch.Tensor
    true_b: float

    @property
    def num_inputs(self) -> int:
        return self.X_train.shape[1]


@on_course_device
def synthetic_regression(
    *,
    n_train: int = 20,
    n_test: int = 100,
    num_inputs: int = 200,
    true_w_value: float = 0.01,
    true_b: float = 0.05,
    noise: float = 0.01,
    generator: torch.Generator | None = None,
) -> RegressionData:
    """y = 0.05 + Σ 0.01·xᵢ + ε, x ~ N(0, I), ε ~ N(0, noise²): few examples, many features.

    With 20 examples and 200 features a linear model can fit the training set exactly,
    in many ways, and nearly all of them generalise badly: the setting to overfit in.
    """
    for name, value in (("n_train", n_train), ("n_test", n_test), ("num_inputs", num_inputs)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if not noise >= 0.0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    true_w = torch.full((num_inputs, 1), float(true_w_value))

    def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        X = torch.randn(n, num_inputs, generator=generator)
        y = X @ true_w + true_b + noise * torch.randn(n, 1, generator=generator)
        return X, y

    X_train, y_train = draw(n_train)
    X_test, y_test = draw(n_test)
    return RegressionData(X_train, y_train, X_test, y_test, true_w, float(true_b))


def minibatch_indices(
    n: int, batch_size: int, *, generator: torch.Generator | None = None, shuffle: bool = True
) -> tuple[torch.Tensor, ...]:
    """One epoch of minibatches as index tensors: a shuffled 0..n-1 cut into batch_size pieces.

    Slicing ``X[idx]`` with these is what a DataLoader does for in-memory tensors, without
    its per-batch Python overhead; the last batch is smaller when batch_size does not divide n.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= n:
        raise ValueError(f"batch_size must be an integer in [1, {n}], got {batch_size!r}")
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    return order.split(batch_size)


# --- Image classification data: the bundled 8×8 digits and Fashion-MNIST ----------------------


@dataclass(frozen=True)
class ImageData:
    """A classification data set ready for an MLP.

    X_train: (n_train, h·w) float32 in [0, 1], y_train: (n_train,) int64 class indices; the
    same for the test split. ``image_shape`` is (h, w), for drawing ``X[i].view(image_shape)``.
    """

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    image_shape: tuple[int, int]
    name: str
    class_names: tuple[str, ...]

    @property
    def num_inputs(self) -> int:
        return self.X_train.shape[1]

    @property
    def n_train(self) -> int:
        return len(self.X_train)

    @property
    def n_test(self) -> int:
        return len(self.X_test)


# 300 of the 1797 digits for training: measured with classify.train_classifier's defaults so that
# MLP(64, 256, 256, 10) without dropout reaches a near-zero training loss and a test loss many times
# larger, and dropout (0.2, 0.5) lowers the test loss (tests/test_classify.py checks it on 5 seeds).
DIGITS_N_TRAIN = 300


def _stratified_order(y: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """A random order of 0..n-1 in which every prefix holds each class in (about) its overall share.

    Shuffle, then sort by each example's fractional position within its own class,
    (rank + ½) / count: the first k examples then hold ≈ k·count_c/n of class c.
    """
    perm = torch.randperm(len(y), generator=generator)
    labels = y[perm]
    counts = torch.bincount(labels)
    rank = torch.empty_like(labels)
    for c in range(len(counts)):  # rank of each example among its class, in shuffled order
        where = (labels == c).nonzero().flatten()
        rank[where] = torch.arange(len(where))
    position = (rank.double() + 0.5) / counts[labels].double()
    return perm[torch.sort(position, stable=True).indices]


@on_course_device
def load_digits_data(*, n_train: int = DIGITS_N_TRAIN, seed: int = 0) -> ImageData:
    """scikit-learn's bundled 8×8 digits (1797 images, no download), pixels / 16, a stratified split.

    ``n_train`` images (each class in proportion) train, the other 1797 − n_train test; the split
    is drawn from ``torch.Generator().manual_seed(seed)``.
    """
    from sklearn.datasets import load_digits  # imported here: nothing heavy at import time

    digits = load_digits()
    n = len(digits.target)
    if isinstance(n_train, bool) or not isinstance(n_train, int) or not 10 <= n_train <= n - 10:
        raise ValueError(f"n_train must be an integer in [10, {n - 10}], got {n_train!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    X = torch.from_numpy(digits.data).float() / 16.0  # (1797, 64), pixel values 0..16 -> [0, 1]
    y = torch.from_numpy(digits.target).long()
    order = _stratified_order(y, torch.Generator().manual_seed(seed))
    train, test = order[:n_train], order[n_train:]
    return ImageData(
        X_train=X[train], y_train=y[train], X_test=X[test], y_test=y[test],
        num_classes=10, image_shape=(8, 8), name="digits (8×8, scikit-learn)",
        class_names=tuple(str(d) for d in range(10)),
    )


# --- Fashion-MNIST: IDX files, checksums, an atomic download -----------------------------------

# The official mirror (github.com/zalandoresearch/fashion-mnist); plain http, so every file is
# checked against the MD5 sums published there before it is used.
FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FASHION_MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
FASHION_MNIST_FILES = tuple(FASHION_MNIST_MD5)  # train images, train labels, test images, test labels
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
FASHION_N_TRAIN = 2000  # the lesson's training-set size on Fashion-MNIST (load_course_images)
DATA_ROOT_ENV = "WD_COURSE_DATA"  # a folder holding the four Fashion-MNIST files
DEFAULT_DATA_ROOT = Path("~/.cache/wd_course/fashion-mnist")


class DataError(ValueError):
    """A data file is missing, corrupt, truncated or not what its name says."""


class MissingDataError(DataError, FileNotFoundError):
    """Data files are not where they were looked for (and downloading was not asked for)."""


@on_course_device
def read_idx(path: str | os.PathLike, *, ndim: int | None = None) -> torch.Tensor:
    """Read an IDX file of unsigned bytes (gzip-compressed or plain) into a uint8 tensor.

    Layout: magic 0x0000 08 NN (08: uint8, NN: number of dimensions), then NN big-endian uint32
    sizes, then the bytes in C order. Fashion-MNIST images are 0x00000803 (n, 28, 28), labels
    0x00000801 (n,). ``ndim`` demands that number of dimensions. A wrong magic number, a bad gzip
    stream or a size that disagrees with the header raises DataError naming the file.
    """
    path = Path(path)
    with open(path, "rb") as f:
        compressed = f.read(2) == b"\x1f\x8b"  # gzip's own magic number
    try:
        with (gzip.open if compressed else open)(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise DataError(f"{path}: cannot decompress ({exc}): the file is corrupt or truncated") from exc
    if len(raw) < 4:
        raise DataError(f"{path}: {len(raw)} bytes, too short for an IDX header: the file is truncated")
    (magic,) = struct.unpack(">I", raw[:4])
    dims_found = raw[3]
    wanted = f"0x{0x800 | ndim:08x}" if ndim is not None else "0x000008NN (unsigned bytes, NN dimensions)"
    if raw[:3] != b"\x00\x00\x08" or dims_found == 0 or (ndim is not None and dims_found != ndim):
        raise DataError(f"{path}: magic number 0x{magic:08x}, expected {wanted}: not the IDX file expected")
    header = 4 + 4 * dims_found
    if len(raw) < header:
        raise DataError(f"{path}: the header is cut short ({len(raw)} of {header} bytes): the file is truncated")
    shape = struct.unpack(f">{dims_found}I", raw[4:header])
    expected, found = math.prod(shape), len(raw) - header
    if found != expected:
        problem = "truncated" if found < expected else "longer than its header says"
        raise DataError(f"{path}: header says shape {shape} = {expected} bytes of data, found {found}: {problem}")
    return torch.frombuffer(bytearray(memoryview(raw)[header:]), dtype=torch.uint8).reshape(shape)


def file_md5(path: str | os.PathLike) -> str:
    """MD5 hex digest of a file, read in 1 MiB blocks (a checksum, not security)."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_file(url: str, path: str | os.PathLike, md5: str, *, timeout: float = 60.0) -> Path:
    """Fetch ``url`` to ``path`` atomically: a temporary file beside it, MD5 check, then os.replace.

    On any failure (network, wrong checksum, interruption) the temporary file is deleted and
    nothing exists under ``path``'s name that was not there before.
    """
    import http.client  # imported here: urllib.request pulls in ssl and email, not needed to import data
    import urllib.request

    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        digest = hashlib.md5(usedforsecurity=False)
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    for block in iter(lambda: response.read(1 << 20), b""):
                        digest.update(block)
                        out.write(block)
            except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, cut connections
                raise DataError(f"could not download {url}: {exc}") from exc
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != md5:
            raise DataError(
                f"downloaded {url} has MD5 {digest.hexdigest()}, expected {md5}: the download is corrupt "
                f"or incomplete, and nothing was saved as {path}. Try again, or copy the file there by hand."
            )
        os.replace(tmp, path)  # atomic on one file system: the final name never holds a partial file
    except BaseException:  # KeyboardInterrupt too: never leave the temporary file behind
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def _missing_message(root: Path, missing: list[str], base_url: str) -> str:
    return (
        f"Fashion-MNIST files not found in {root}: missing {', '.join(missing)}. Either call "
        f"load_fashion_mnist({str(root)!r}, download=True) to download them from {base_url}, or copy "
        f"the four files {', '.join(FASHION_MNIST_FILES)} into {root}."
    )


@on_course_device
def load_fashion_mnist(
    root: str | os.PathLike,
    *,
    download: bool = False,
    base_url: str = FASHION_MNIST_URL,
    checksums: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> ImageData:
    """Fashion-MNIST from the four official IDX files in ``root``: 60 000 train, 10 000 test images.

    X: (n, 784) float32 pixels / 255, y: (n,) int64 in 0..9. Files are checked against their MD5
    sums (``checksums``: file name -> MD5, the published ones by default). Missing files raise
    MissingDataError unless ``download=True``, which fetches only the missing ones from ``base_url``
    (atomically, see download_file); without it nothing touches the network. A file already in
    ``root`` with the wrong checksum is refused, never overwritten.
    """
    root = Path(root).expanduser()
    checksums = dict(FASHION_MNIST_MD5 if checksums is None else checksums)
    if set(checksums) != set(FASHION_MNIST_FILES):
        raise ValueError(f"checksums must map exactly the files {list(FASHION_MNIST_FILES)} to MD5 sums, "
                         f"got {sorted(checksums)}")
    missing = [name for name in FASHION_MNIST_FILES if not (root / name).is_file()]
    if missing and not download:
        raise MissingDataError(_missing_message(root, missing, base_url))
    if missing:
        root.mkdir(parents=True, exist_ok=True)
        base = base_url if base_url.endswith("/") else base_url + "/"
        for name in missing:
            download_file(base + name, root / name, checksums[name], timeout=timeout)
    for name in FASHION_MNIST_FILES:
        if name not in missing and (found := file_md5(root / name)) != checksums[name]:
            raise DataError(
                f"{root / name} has MD5 {found}, expected {checksums[name]}: the file is corrupt or "
                f"incomplete. Delete it and call load_fashion_mnist(..., download=True) to fetch it again, "
                f"or copy a good copy into {root}."
            )
    train_images, train_labels, test_images, test_labels = (
        read_idx(root / name, ndim=3 if "images" in name else 1) for name in FASHION_MNIST_FILES
    )
    for images, labels, split in ((train_images, train_labels, "train"), (test_images, test_labels, "t10k")):
        if len(images) != len(labels):
            raise DataError(f"{root}: {split} has {len(images)} images but {len(labels)} labels")
        if len(labels) and int(labels.max()) >= len(FASHION_MNIST_CLASSES):
            raise DataError(f"{root}: {split} labels must be in 0..9, found {int(labels.max())}")
    if train_images.shape[1:] != test_images.shape[1:]:
        raise DataError(f"{root}: train images are {tuple(train_images.shape[1:])}, "
                        f"test images {tuple(test_images.shape[1:])}")
    return ImageData(
        X_train=train_images.flatten(1).float() / 255.0,  # (n, h·w) in [0, 1]
        y_train=train_labels.long(),
        X_test=test_images.flatten(1).float() / 255.0,
        y_test=test_labels.long(),
        num_classes=len(FASHION_MNIST_CLASSES),
        image_shape=tuple(train_images.shape[1:]),
        name="Fashion-MNIST",
        class_names=FASHION_MNIST_CLASSES,
    )


def default_data_root() -> Path:
    """Where the course looks for Fashion-MNIST: $WD_COURSE_DATA, else ~/.cache/wd_course/fashion-mnist."""
    return Path(os.environ.get(DATA_ROOT_ENV) or DEFAULT_DATA_ROOT).expanduser()


@on_course_device
def load_course_images(
    root: str | os.PathLike | None = None, *, seed: int = 0, n_train: int | None = None
) -> tuple[ImageData, str]:
    """The dropout notebook's data and the one line to print about it.

    Fashion-MNIST when its four files are in ``root`` (default: default_data_root()), else
    scikit-learn's bundled digits (load_digits_data). Never downloads. ``n_train`` keeps that many
    training images (a seeded, stratified choice); None keeps the course's size, DIGITS_N_TRAIN
    digits or FASHION_N_TRAIN Fashion-MNIST images (small enough that an MLP memorises them and a
    retrain stays interactive; pass 60000 for all of them). The test set is always the whole rest.
    """
    root = default_data_root() if root is None else Path(root).expanduser()
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if all((root / name).is_file() for name in FASHION_MNIST_FILES):
        try:
            data = load_fashion_mnist(root)
        except DataError as exc:
            reason = f"Fashion-MNIST in {root} is unusable ({exc})"
        else:
            if n_train is None:
                n_train = min(FASHION_N_TRAIN, data.n_train)
            if n_train != data.n_train:
                if isinstance(n_train, bool) or not isinstance(n_train, int) or not 1 <= n_train <= data.n_train:
                    raise ValueError(f"n_train must be an integer in [1, {data.n_train}], got {n_train!r}")
                keep = _stratified_order(data.y_train, torch.Generator().manual_seed(seed))[:n_train]
                data = ImageData(data.X_train[keep], data.y_train[keep], data.X_test, data.y_test,
                                 data.num_classes, data.image_shape, data.name, data.class_names)
            h, w = data.image_shape
            return data, (f"Using Fashion-MNIST from {root}: {data.n_train} training and "
                          f"{data.n_test} test images, {h}×{w}, {data.num_classes} classes.")
    else:
        reason = f"Fashion-MNIST not found in {root}"
    data = load_digits_data(n_train=DIGITS_N_TRAIN if n_train is None else n_train, seed=seed)
    return data, (f"{reason}; using scikit-learn's bundled 8×8 digits instead: {data.n_train} training and "
                  f"{data.n_test} test images, 10 classes (load_fashion_mnist(root, download=True) fetches "
                  f"Fashion-MNIST).")
