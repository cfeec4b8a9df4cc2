"""Data: the seeded weight-decay regression (the d2l setting), fast minibatches, and image data.

Image data for the dropout notebook: scikit-learn's bundled 8×8 digits (always available), and
Fashion-MNIST read by our own IDX reader (which never reads more than its header announces), checked
against its published MD5 sums and downloaded (only when asked) atomically: a file appears under its
final name only once it is complete, a download never takes longer than its ``timeout``, and the
temporary file of a killed download is removed by the next download or load in that folder.
"""

import contextlib
import gzip
import hashlib
import math
import os
import re
import socket
import struct
import tempfile
import threading
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from . import validate
from .device import on_course_device


def _path(name: str, value) -> Path:
    """``value`` as a Path, or a TypeError naming ``name``: a str or os.PathLike, not a number or bytes.

    (validate.py has no path check; this is the data module's own.)
    """
    if isinstance(value, str) and not value:
        raise ValueError(f"{name} must be a non-empty path, got ''")
    if isinstance(value, str | os.PathLike):
        fspath = os.fspath(value)
        if isinstance(fspath, str):
            return Path(fspath)
    raise TypeError(f"{name} must be a path (str or os.PathLike), got {type(value).__name__} {value!r:.60}")


def _generator(value) -> torch.Generator | None:
    if value is None or isinstance(value, torch.Generator):
        return value
    raise TypeError(f"generator must be a torch.Generator or None, got {type(value).__name__} {value!r:.60}")


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
    n_train = validate.integer("n_train", n_train, low=1)
    n_test = validate.integer("n_test", n_test, low=1)
    num_inputs = validate.integer("num_inputs", num_inputs, low=1)
    true_w_value = validate.number("true_w_value", true_w_value)
    true_b = validate.number("true_b", true_b)
    noise = validate.number("noise", noise, low=0.0)
    generator = _generator(generator)
    true_w = torch.full((num_inputs, 1), true_w_value)

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
    n = validate.integer("n", n, low=1)
    batch_size = validate.integer("batch_size", batch_size, low=1, high=n)
    generator, shuffle = _generator(generator), validate.flag("shuffle", shuffle)
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
    seed = validate.seed(seed)
    from sklearn.datasets import load_digits  # imported here: nothing heavy at import time

    digits = load_digits()
    n = len(digits.target)
    n_train = validate.integer("n_train", n_train, low=10, high=n - 10)
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
# checked against the MD5 sums published there before it is used. MD5, not SHA-256: the publisher's
# README lists MD5 sums only, and a sum we computed ourselves would certify nothing. MD5's known
# weakness is collisions (two files made together to share a sum), not matching a sum published
# beforehand, so these still catch a corrupt, truncated or substituted file.
# To accept other files (generated full-size stand-ins, a local copy), pass load_fashion_mnist(...,
# checksums={file name: MD5}), or update this table in place: load_course_images reads it on each call.
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
# read_idx refuses a header announcing more data than this (Fashion-MNIST's largest file holds 47 MB;
# 1 GiB of bytes, 4 GiB as float32, is past any classroom's memory): a corrupt or hostile header
# must not make it allocate or decompress gigabytes before failing.
IDX_MAX_BYTES = 2**30
# download_file's timeout bounds the whole download of one file (30 MB in 10 min: 50 kB/s);
# besides, a connection silent for STALL_TIMEOUT_S fails at once.
DOWNLOAD_TIMEOUT_S = 600.0
STALL_TIMEOUT_S = 60.0
# a download's temporary file, ".<name>.<pid>@<host>.<random>.part", is stale (its download was killed,
# SIGKILL or SIGTERM, before it could clean up) once its process is gone, or after an hour unwritten
STALE_PART_AGE_S = 3600.0


class DataError(ValueError):
    """A data file is missing, corrupt, truncated or not what its name says."""


class MissingDataError(DataError, FileNotFoundError):
    """Data files are not where they were looked for (and downloading was not asked for)."""


def _require_file(path: Path) -> None:
    """Refuse ``path`` up front unless it is a regular file: a folder in its place is not 'missing'."""
    if path.is_dir():
        raise DataError(f"{path} is a directory, expected a file: move it away or point to the file itself")
    if not path.exists():
        raise MissingDataError(f"{path}: no such file")
    if not path.is_file():
        raise DataError(f"{path} is not a regular file (a device, pipe or socket), expected a file")


@on_course_device
def read_idx(
    path: str | os.PathLike, *, ndim: int | None = None, max_bytes: int = IDX_MAX_BYTES
) -> torch.Tensor:
    """Read an IDX file of unsigned bytes (gzip-compressed or plain) into a uint8 tensor.

    Layout: magic 0x0000 08 NN (08: uint8, NN: number of dimensions), then NN big-endian uint32
    sizes, then the bytes in C order. Fashion-MNIST images are 0x00000803 (n, 28, 28), labels
    0x00000801 (n,). ``ndim`` demands that number of dimensions. The header is read first: a shape
    holding no data, or more than ``max_bytes`` bytes, is refused before any data is read, and at
    most header + shape + 1 bytes are ever decompressed (a gzip bomb stops there). A wrong magic
    number, a bad gzip stream or a size that disagrees with the header raises DataError naming the file.
    """
    path = _path("path", path)
    if ndim is not None:
        ndim = validate.integer("ndim", ndim, low=1, high=255)
    max_bytes = validate.integer("max_bytes", max_bytes, low=1)
    _require_file(path)
    with open(path, "rb") as f:
        compressed = f.read(2) == b"\x1f\x8b"  # gzip's own magic number
        f.seek(0)
        with gzip.GzipFile(fileobj=f, mode="rb") if compressed else contextlib.nullcontext(f) as stream:
            return _read_idx_stream(stream, path, ndim, max_bytes, "decompress" if compressed else "read")


def _read_idx_stream(stream, path: Path, ndim: int | None, max_bytes: int, verb: str) -> torch.Tensor:
    def read(size: int) -> bytes:  # up to size bytes: fewer only at the end of the data
        try:
            return stream.read(size)
        except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
            raise DataError(f"{path}: cannot {verb} ({exc}): the file is corrupt or truncated") from exc

    start = read(4)
    if len(start) < 4:
        raise DataError(f"{path}: {len(start)} bytes, too short for an IDX header: the file is truncated")
    (magic,) = struct.unpack(">I", start)
    dims_found = start[3]
    wanted = f"0x{0x800 | ndim:08x}" if ndim is not None else "0x000008NN (unsigned bytes, NN dimensions)"
    if start[:3] != b"\x00\x00\x08" or dims_found == 0 or (ndim is not None and dims_found != ndim):
        raise DataError(f"{path}: magic number 0x{magic:08x}, expected {wanted}: not the IDX file expected")
    header = 4 + 4 * dims_found
    sizes = read(header - 4)
    if len(sizes) < header - 4:
        raise DataError(f"{path}: the header is cut short ({4 + len(sizes)} of {header} bytes): the file is truncated")
    shape = struct.unpack(f">{dims_found}I", sizes)
    expected = math.prod(shape)
    if expected == 0:
        raise DataError(f"{path}: header says shape {shape}, which holds no data: not the IDX file expected")
    if expected > max_bytes:
        raise DataError(f"{path}: header says shape {shape} = {expected} bytes of data, more than "
                        f"max_bytes={max_bytes}: not read (a corrupt header, or pass a larger max_bytes)")
    # grown as the bytes arrive, so a header that overstates a short file allocates no more than it holds
    data = bytearray()
    while len(data) < expected:
        block = read(min(1 << 20, expected - len(data)))
        if not block:
            break
        data += block
    if len(data) < expected:
        raise DataError(f"{path}: header says shape {shape} = {expected} bytes of data, found {len(data)}: truncated")
    if read(1):  # one byte more is enough to know; a gzip bomb is never expanded past it
        raise DataError(f"{path}: header says shape {shape} = {expected} bytes of data, found more: "
                        f"longer than its header says")
    return torch.frombuffer(data, dtype=torch.uint8).reshape(shape)  # shares data's memory: no copy


def file_md5(path: str | os.PathLike) -> str:
    """MD5 hex digest of a file, read in 1 MiB blocks (a checksum, not security)."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _md5_sum(name: str, value) -> str:
    """``value`` as a lower-case MD5 hex digest (32 hex digits), or a named error."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be an MD5 sum (a str of 32 hex digits), got {type(value).__name__} {value!r:.60}")
    if not re.fullmatch(r"[0-9a-fA-F]{32}", value):
        raise ValueError(f"{name} must be an MD5 sum (32 hex digits), got {value!r:.60}")
    return value.lower()


def _url(name: str, value) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__} {value!r:.60}")
    if not value:
        raise ValueError(f"{name} must be a non-empty str, got ''")
    return value


# --- temporary files of downloads: named after their process, so a killed one can be recognised ----

_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:40]


def _part_prefix(name: str) -> str:
    return f".{name}.{os.getpid()}@{_HOST}."


def _owner_is_gone(pid: int, host: str) -> bool:
    """True only when the process that wrote a temporary file surely no longer runs."""
    if host != _HOST or os.name != "posix":  # another machine (a shared home folder); os.kill(pid, 0)
        return False                           # would terminate the process on Windows: age decides
    if pid == os.getpid():
        return False  # this process: another thread may be downloading right now
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: it exists, as another user's
        return False
    return False


def _remove_stale_parts(folder: Path, names) -> list[Path]:
    """Delete the temporary files that killed downloads of ``names`` left in ``folder``; return them.

    A temporary file ``.<name>.<pid>@<host>.<random>.part`` is stale once its process is gone (same
    host) or when it has not been written for STALE_PART_AGE_S (any host; also the older
    ``.<name>.<random>.part`` names). A live download's file is kept; files that cannot be deleted
    (a read-only shared folder) are left as they are.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:  # no such folder, or not one: nothing to clean
        return removed
    patterns = [re.compile(rf"\.{re.escape(name)}\.(?:(\d+)@([A-Za-z0-9-]*)\.)?[A-Za-z0-9_]+\.part") for name in names]
    now = time.time()
    for entry in entries:
        match = next((m for p in patterns if (m := p.fullmatch(entry.name))), None)
        if match is None:
            continue
        try:
            unwritten_for = now - entry.stat(follow_symlinks=False).st_mtime
            gone = match[1] is not None and _owner_is_gone(int(match[1]), match[2])
            if gone or unwritten_for > STALE_PART_AGE_S:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


# --- downloads: one deadline for the whole transfer ------------------------------------------------


class _Deadline:
    """Shuts down a download's sockets once ``seconds`` have passed.

    A socket timeout bounds each read only: a server trickling a byte now and then holds a download
    forever. This timer ends the connection itself, whatever it is doing (reading headers or body).
    """

    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds
        self.expired = False
        self._sockets = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def watch(self, sock) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                self._shut(sock)

    @property
    def passed(self) -> bool:
        return self.expired or time.monotonic() >= self.end

    @staticmethod
    def _shut(sock) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked recv (a close from this thread would not)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                self._shut(sock)

    def __enter__(self):
        self._timer.start()
        return self

    def __exit__(self, *exc):
        self._timer.cancel()
        return False


def _opener(deadline: _Deadline):
    """urllib's opener whose HTTP and HTTPS connections report their socket to ``deadline``."""
    import urllib.request  # imported here: urllib.request pulls in ssl and email, not needed to import data

    class Watched:
        def do_open(self, http_class, req, **kwargs):
            class Connection(http_class):
                def connect(self):
                    super().connect()
                    deadline.watch(self.sock)

            return super().do_open(Connection, req, **kwargs)

    handlers = [type("HTTPHandler", (Watched, urllib.request.HTTPHandler), {})()]
    if hasattr(urllib.request, "HTTPSHandler"):  # absent when Python was built without ssl
        handlers.append(type("HTTPSHandler", (Watched, urllib.request.HTTPSHandler), {})())
    return urllib.request.build_opener(*handlers)


def download_file(
    url: str, path: str | os.PathLike, md5: str, *, timeout: float = DOWNLOAD_TIMEOUT_S
) -> Path:
    """Fetch ``url`` to ``path`` atomically: a temporary file beside it, MD5 check, then os.replace.

    ``timeout`` (seconds) bounds the whole download, however slowly the server sends; a connection
    silent for min(timeout, STALL_TIMEOUT_S) fails sooner. On any failure (network, too slow, wrong
    checksum, interruption) the temporary file is deleted and nothing exists under ``path``'s name that
    was not there before; a temporary file left by a killed download is deleted by the next one.
    """
    import http.client  # imported here, as urllib.request in _opener

    url, path, md5 = _url("url", url), _path("path", path), _md5_sum("md5", md5)
    timeout = validate.number("timeout", timeout, low=0.0, low_open=True)
    if path.is_dir():
        raise DataError(f"{path} is a directory, expected a file: nothing was downloaded")
    if not path.parent.is_dir():
        raise MissingDataError(f"{path.parent}: no such folder to save {path.name} in")
    _remove_stale_parts(path.parent, [path.name])
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_part_prefix(path.name), suffix=".part")
    received = 0
    try:
        digest = hashlib.md5(usedforsecurity=False)
        with os.fdopen(fd, "wb") as out, _Deadline(timeout) as deadline:
            try:
                with _opener(deadline).open(url, timeout=min(timeout, STALL_TIMEOUT_S)) as response:
                    read = getattr(response, "read1", response.read)  # read1: what has arrived, not 1 MiB
                    while not deadline.passed and (block := read(1 << 20)):
                        digest.update(block)
                        out.write(block)
                        received += len(block)
            except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, cut connections
                if not deadline.passed:
                    raise DataError(f"could not download {url}: {exc}") from exc
            if deadline.passed:
                raise DataError(
                    f"could not download {url}: it took longer than timeout={timeout:g} s ({received} bytes "
                    f"received), and nothing was saved as {path}. Try again, with a larger timeout on a slow "
                    f"network, or copy the file there by hand."
                )
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


def _checksums(checksums) -> dict[str, str]:
    """The published sums, or ``checksums`` checked: a mapping of exactly the four file names to MD5 sums."""
    if checksums is None:
        return dict(FASHION_MNIST_MD5)  # read on each call: updating the table in place takes effect
    if not isinstance(checksums, Mapping):
        raise TypeError(f"checksums must be a dict of file name -> MD5 sum, got {type(checksums).__name__}")
    if set(checksums) != set(FASHION_MNIST_FILES):
        raise ValueError(f"checksums must map exactly the files {list(FASHION_MNIST_FILES)} to MD5 sums, "
                         f"got {sorted(map(str, checksums))}")
    return {name: _md5_sum(f"checksums[{name!r}]", checksums[name]) for name in FASHION_MNIST_FILES}


def _refuse_non_files(root: Path) -> None:
    """A folder where ``root`` or one of the four files should be is an error, said before any download."""
    if root.exists() and not root.is_dir():
        raise DataError(f"{root} is a file, expected a folder holding the four Fashion-MNIST files")
    for name in FASHION_MNIST_FILES:
        if (root / name).exists():  # a broken link is merely missing
            _require_file(root / name)


def _checked_md5(path: Path, expected: str) -> None:
    try:
        found = file_md5(path)
    except OSError as exc:  # unreadable (permissions, an I/O error)
        raise DataError(f"{path}: cannot read ({exc})") from exc
    if found != expected:
        raise DataError(
            f"{path} has MD5 {found}, expected {expected}: the file is corrupt or incomplete. Delete it and "
            f"call load_fashion_mnist(..., download=True) to fetch it again, or copy a good copy into {path.parent}."
        )


@on_course_device
def load_fashion_mnist(
    root: str | os.PathLike,
    *,
    download: bool = False,
    base_url: str = FASHION_MNIST_URL,
    checksums: dict[str, str] | None = None,
    timeout: float = DOWNLOAD_TIMEOUT_S,
) -> ImageData:
    """Fashion-MNIST from the four official IDX files in ``root``: 60 000 train, 10 000 test images.

    X: (n, 784) float32 pixels / 255, y: (n,) int64 in 0..9. Files are checked against their MD5
    sums (``checksums``: file name -> MD5, the published ones by default). Missing files raise
    MissingDataError unless ``download=True``, which fetches only the missing ones from ``base_url``
    (atomically, each within ``timeout`` seconds, see download_file); without it nothing touches the
    network. A file already in ``root`` with the wrong checksum is refused, never overwritten; a
    folder in a file's place is refused before anything is downloaded.
    """
    root = _path("root", root).expanduser()
    download = validate.flag("download", download)
    base_url = _url("base_url", base_url)
    checksums = _checksums(checksums)
    timeout = validate.number("timeout", timeout, low=0.0, low_open=True)
    _refuse_non_files(root)
    _remove_stale_parts(root, FASHION_MNIST_FILES)
    missing = [name for name in FASHION_MNIST_FILES if not (root / name).is_file()]
    if missing and not download:
        raise MissingDataError(_missing_message(root, missing, base_url))
    if missing:
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a read-only place, a file where a parent folder should be
            raise DataError(f"cannot create the folder {root} to download into ({exc})") from exc
        base = base_url if base_url.endswith("/") else base_url + "/"
        for name in missing:
            download_file(base + name, root / name, checksums[name], timeout=timeout)
    for name in FASHION_MNIST_FILES:
        if name not in missing:
            _checked_md5(root / name, checksums[name])
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
        X_train=train_images.flatten(1).float().div_(255.0),  # (n, h·w) in [0, 1], in place: one 188 MB copy, not two
        y_train=train_labels.long(),
        X_test=test_images.flatten(1).float().div_(255.0),
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
    root = default_data_root() if root is None else _path("root", root).expanduser()
    seed = validate.seed(seed)
    if n_train is not None:
        n_train = validate.integer("n_train", n_train, low=1)
    # a folder in a file's place, or a file in root's, is not "missing": load_fashion_mnist says what it is
    missing = [] if root.exists() and not root.is_dir() else [
        name for name in FASHION_MNIST_FILES if not (root / name).exists()]
    if not missing:
        try:
            data = load_fashion_mnist(root)
        except DataError as exc:
            reason = f"Fashion-MNIST in {root} is unusable ({str(exc).replace(chr(10), ' ')})"
        else:
            if n_train is None:
                n_train = min(FASHION_N_TRAIN, data.n_train)
            if n_train != data.n_train:
                n_train = validate.integer("n_train", n_train, low=1, high=data.n_train)
                keep = _stratified_order(data.y_train, torch.Generator().manual_seed(seed))[:n_train]
                data = ImageData(data.X_train[keep], data.y_train[keep], data.X_test, data.y_test,
                                 data.num_classes, data.image_shape, data.name, data.class_names)
            h, w = data.image_shape
            return data, (f"Using Fashion-MNIST from {root}: {data.n_train} training and "
                          f"{data.n_test} test images, {h}×{w}, {data.num_classes} classes.")
    else:
        _remove_stale_parts(root, FASHION_MNIST_FILES)
        reason = (f"Fashion-MNIST not found in {root} (missing {', '.join(missing)}; "
                  f"load_fashion_mnist(root, download=True) fetches {'it' if len(missing) == 1 else 'them'})")
    data = load_digits_data(n_train=DIGITS_N_TRAIN if n_train is None else n_train, seed=seed)
    return data, (f"{reason}; using scikit-learn's bundled 8×8 digits instead: {data.n_train} training and "
                  f"{data.n_test} test images, 10 classes.")
