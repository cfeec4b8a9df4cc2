import gzip
import hashlib
import http.server
import struct
import threading
import urllib.request

import pytest
import torch

from wd_helpers import data as data_module
from wd_helpers.data import (
    DIGITS_N_TRAIN,
    FASHION_MNIST_FILES,
    DataError,
    MissingDataError,
    file_md5,
    load_course_images,
    load_digits_data,
    load_fashion_mnist,
    read_idx,
)

# --- the bundled digits --------------------------------------------------------------------------


def test_digits_split_sizes_dtypes_and_ranges():
    data = load_digits_data()
    assert (data.n_train, data.n_test) == (DIGITS_N_TRAIN, 1797 - DIGITS_N_TRAIN)
    assert data.X_train.shape == (DIGITS_N_TRAIN, 64) and data.X_test.shape == (1797 - DIGITS_N_TRAIN, 64)
    assert data.X_train.dtype == data.X_test.dtype == torch.float32
    assert data.y_train.dtype == data.y_test.dtype == torch.int64
    X = torch.cat([data.X_train, data.X_test])
    assert X.min() == 0.0 and X.max() == 1.0  # pixel values 0..16, divided by 16
    assert set(torch.cat([data.y_train, data.y_test]).tolist()) == set(range(10))
    assert (data.num_classes, data.image_shape, data.num_inputs) == (10, (8, 8), 64)
    assert data.class_names == tuple("0123456789")


def test_digits_train_and_test_together_are_the_whole_data_set():
    from sklearn.datasets import load_digits

    digits = load_digits()
    data = load_digits_data(n_train=500, seed=3)
    counts = torch.bincount(data.y_train, minlength=10) + torch.bincount(data.y_test, minlength=10)
    assert counts.tolist() == torch.bincount(torch.from_numpy(digits.target)).tolist()
    total = data.X_train.double().sum() + data.X_test.double().sum()
    assert total.item() == pytest.approx(digits.data.sum() / 16)


def test_digits_split_is_stratified():
    data = load_digits_data(n_train=100, seed=1)
    assert torch.bincount(data.y_train).tolist() == [10] * 10


def test_digits_split_is_determined_by_the_seed():
    a, b, c = load_digits_data(seed=5), load_digits_data(seed=5), load_digits_data(seed=6)
    assert torch.equal(a.X_train, b.X_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.X_train, c.X_train)


@pytest.mark.parametrize("n_train", [0, 5, 1790])
def test_digits_bad_n_train_is_refused(n_train):
    with pytest.raises(ValueError, match=r"n_train must be an integer in \[10, 1787\]"):
        load_digits_data(n_train=n_train)


@pytest.mark.parametrize("n_train", [True, "300", 300.5, None])
def test_digits_n_train_of_the_wrong_kind_is_refused(n_train):
    with pytest.raises(TypeError, match="n_train must be"):
        load_digits_data(n_train=n_train)


def test_digits_n_train_as_a_whole_float_is_that_integer():  # validate.integer's rule: 300.0 is 300, 300.5 refused
    assert torch.equal(load_digits_data(n_train=300.0).X_train, load_digits_data(n_train=300).X_train)


# --- IDX files written here ------------------------------------------------------------------------

IMAGES = torch.arange(12, dtype=torch.uint8).reshape(3, 2, 2) * 20  # three 2×2 images, values 0..220
LABELS = torch.tensor([2, 0, 9], dtype=torch.uint8)


def idx_bytes(array: torch.Tensor) -> bytes:
    """IDX encoding: magic 0x000008NN, NN big-endian uint32 sizes, the bytes."""
    header = struct.pack(">I", 0x800 | array.dim()) + struct.pack(f">{array.dim()}I", *array.shape)
    return header + array.numpy().tobytes()


def write(path, payload: bytes, *, gz: bool):
    path.write_bytes(gzip.compress(payload) if gz else payload)
    return path


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "raw"])
def test_read_idx_reads_images_and_labels(tmp_path, gz):
    images = read_idx(write(tmp_path / "images", idx_bytes(IMAGES), gz=gz), ndim=3)
    labels = read_idx(write(tmp_path / "labels", idx_bytes(LABELS), gz=gz), ndim=1)
    assert images.dtype == torch.uint8 and torch.equal(images, IMAGES)
    assert torch.equal(labels, LABELS)
    assert torch.equal(read_idx(tmp_path / "images"), IMAGES)  # any number of dimensions without ndim


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "raw"])
def test_truncated_idx_file_is_refused(tmp_path, gz):
    path = write(tmp_path / "images", idx_bytes(IMAGES)[:-1], gz=gz)
    with pytest.raises(DataError, match=r"images.*12 bytes of data, found 11: truncated"):
        read_idx(path)


def test_truncated_gzip_stream_is_refused(tmp_path):
    compressed = gzip.compress(idx_bytes(IMAGES))
    path = tmp_path / "images.gz"
    path.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(DataError, match=r"images.gz: cannot decompress"):
        read_idx(path)


@pytest.mark.parametrize("payload", [b"", b"\x00\x00", idx_bytes(IMAGES)[:10]], ids=["empty", "2 bytes", "cut header"])
def test_idx_file_cut_inside_the_header_is_refused(tmp_path, payload):
    with pytest.raises(DataError, match="truncated"):
        read_idx(write(tmp_path / "images", payload, gz=False))


def test_idx_file_longer_than_its_header_is_refused(tmp_path):
    with pytest.raises(DataError, match="longer than its header says"):
        read_idx(write(tmp_path / "labels", idx_bytes(LABELS) + b"\x00", gz=False))


def test_wrong_magic_number_is_refused(tmp_path):
    path = write(tmp_path / "labels", idx_bytes(LABELS), gz=True)
    with pytest.raises(DataError, match=r"labels: magic number 0x00000801, expected 0x00000803"):
        read_idx(path, ndim=3)  # a labels file where images were expected
    not_bytes = b"\x00\x00\x0d\x01" + idx_bytes(LABELS)[4:]  # 0x0D: float32 elements
    with pytest.raises(DataError, match=r"magic number 0x00000d01"):
        read_idx(write(tmp_path / "floats", not_bytes, gz=False))
    with pytest.raises(DataError, match=r"magic number 0x1f8b0800"):  # gzip twice: still compressed inside
        read_idx(write(tmp_path / "twice", gzip.compress(gzip.compress(idx_bytes(LABELS))), gz=False))


# --- Fashion-MNIST from small files -----------------------------------------------------------------

TEST_IMAGES = torch.full((2, 2, 2), 255, dtype=torch.uint8)
TEST_LABELS = torch.tensor([1, 7], dtype=torch.uint8)


def fashion_files() -> dict[str, bytes]:
    """Four tiny stand-ins for the official files, under the official names."""
    arrays = (IMAGES, LABELS, TEST_IMAGES, TEST_LABELS)
    return {name: gzip.compress(idx_bytes(a)) for name, a in zip(FASHION_MNIST_FILES, arrays)}


def md5s(files: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.md5(payload, usedforsecurity=False).hexdigest() for name, payload in files.items()}


@pytest.fixture
def fashion_root(tmp_path):
    root = tmp_path / "fashion"
    root.mkdir()
    for name, payload in fashion_files().items():
        (root / name).write_bytes(payload)
    return root


def test_load_fashion_mnist_reads_the_four_files(fashion_root):
    data = load_fashion_mnist(fashion_root, checksums=md5s(fashion_files()))
    assert data.X_train.shape == (3, 4) and data.X_test.shape == (2, 4)
    assert data.X_train.dtype == torch.float32 and data.y_train.dtype == torch.int64
    assert torch.allclose(data.X_train, IMAGES.flatten(1).float() / 255)
    assert torch.equal(data.X_test, torch.ones(2, 4))
    assert data.y_train.tolist() == [2, 0, 9] and data.y_test.tolist() == [1, 7]
    assert data.image_shape == (2, 2) and data.num_classes == 10 and data.class_names[9] == "Ankle boot"


def test_the_published_checksums_are_the_default():
    assert data_module.FASHION_MNIST_MD5["train-images-idx3-ubyte.gz"] == "8d4fb7e6c68d591d4c3dfef9ec88bf0d"
    assert data_module.FASHION_MNIST_MD5["t10k-labels-idx1-ubyte.gz"] == "bb300cfdad3c16e7a12a480ee83cd310"
    assert FASHION_MNIST_FILES == (
        "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
    )


def test_cached_file_with_wrong_checksum_is_refused_and_kept(fashion_root):
    checksums = md5s(fashion_files())
    corrupt = fashion_root / "t10k-labels-idx1-ubyte.gz"
    corrupt.write_bytes(corrupt.read_bytes()[:-3])
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.gz has MD5 .*Delete it .*download=True"):
        load_fashion_mnist(fashion_root, checksums=checksums, download=True)
    assert corrupt.exists()  # never deleted or overwritten behind the user's back


def test_the_official_checksums_refuse_other_files(fashion_root):
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz has MD5"):
        load_fashion_mnist(fashion_root)


def test_missing_files_say_which_where_and_how_to_get_them(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the network was used without download=True")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setattr(urllib.request.OpenerDirector, "open", no_network)  # what download_file calls
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"")
    with pytest.raises(MissingDataError) as caught:
        load_fashion_mnist(tmp_path)
    message = str(caught.value)
    assert isinstance(caught.value, FileNotFoundError) and isinstance(caught.value, DataError)
    for name in FASHION_MNIST_FILES[1:]:
        assert name in message
    assert "missing train-images" not in message  # that one is there
    assert str(tmp_path) in message and "download=True" in message and "copy the four files" in message


def test_checksums_must_name_the_four_files(fashion_root):
    with pytest.raises(ValueError, match="checksums must map exactly the files"):
        load_fashion_mnist(fashion_root, checksums={"train-images-idx3-ubyte.gz": "0" * 32})


# --- downloads ---------------------------------------------------------------------------------------


def leftovers(root):
    return sorted(p.name for p in root.iterdir() if p.name not in FASHION_MNIST_FILES)


def test_download_from_a_file_url(tmp_path):
    mirror, root = tmp_path / "mirror", tmp_path / "cache" / "fashion"
    mirror.mkdir()
    files = fashion_files()
    for name, payload in files.items():
        (mirror / name).write_bytes(payload)
    data = load_fashion_mnist(root, download=True, base_url=mirror.as_uri(), checksums=md5s(files))
    assert data.y_train.tolist() == [2, 0, 9]
    for name in FASHION_MNIST_FILES:
        assert file_md5(root / name) == md5s(files)[name]
    assert leftovers(root) == []


class Mirror:
    """A local http server on 127.0.0.1 serving ``files``; ``cut_short`` drops each connection halfway."""

    def __init__(self, files: dict[str, bytes], *, cut_short: bool = False):
        served = self.requests = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                name = self.path.rsplit("/", 1)[-1]
                served.append(name)
                if name not in files:
                    self.send_error(404)
                    return
                payload = files[name]
                self.send_response(200)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload[: len(payload) // 2] if cut_short else payload)  # then it closes

            def log_message(self, *args):  # keep pytest's output clean
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/fashion"
        # a short poll interval: shutdown() waits up to one interval (0.5 s by default)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_download_over_http_fetches_only_the_missing_files(tmp_path):
    files = fashion_files()
    root = tmp_path / "fashion"
    root.mkdir()
    (root / FASHION_MNIST_FILES[0]).write_bytes(files[FASHION_MNIST_FILES[0]])
    with Mirror(files) as mirror:
        data = load_fashion_mnist(root, download=True, base_url=mirror.url, checksums=md5s(files))
    assert sorted(mirror.requests) == sorted(FASHION_MNIST_FILES[1:])
    assert data.X_test.shape == (2, 4)
    assert leftovers(root) == []


def test_download_with_wrong_bytes_leaves_no_file_under_the_final_name(tmp_path):
    files = fashion_files()
    served = dict(files, **{"t10k-images-idx3-ubyte.gz": b"<html>not the file</html>"})
    root = tmp_path / "fashion"
    with Mirror(served) as mirror, pytest.raises(DataError, match=r"t10k-images-idx3-ubyte.gz has MD5 .* expected"):
        load_fashion_mnist(root, download=True, base_url=mirror.url, checksums=md5s(files))
    assert not (root / "t10k-images-idx3-ubyte.gz").exists()
    assert (root / "train-labels-idx1-ubyte.gz").exists()  # fetched and verified before the bad one
    assert leftovers(root) == []  # no temporary file left behind


def test_interrupted_download_leaves_no_file_under_the_final_name(tmp_path):
    files = fashion_files()
    root = tmp_path / "fashion"
    with Mirror(files, cut_short=True) as mirror, pytest.raises(DataError, match="corrupt or incomplete"):
        load_fashion_mnist(root, download=True, base_url=mirror.url, checksums=md5s(files))
    assert [p.name for p in root.iterdir()] == []


def test_download_stopped_by_the_user_leaves_no_file(tmp_path, monkeypatch):
    class Response:  # one block arrives, then the learner presses stop (KeyboardInterrupt)
        blocks = [b"half a file"]

        def read(self, size):
            if self.blocks:
                return self.blocks.pop()
            raise KeyboardInterrupt

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(urllib.request.OpenerDirector, "open", lambda self, url, timeout: Response())
    with pytest.raises(KeyboardInterrupt):
        data_module.download_file("http://example.invalid/x.gz", tmp_path / "x.gz", "0" * 32)
    assert list(tmp_path.iterdir()) == []


def test_unreachable_mirror_is_reported(tmp_path):
    files = fashion_files()
    with Mirror(files) as mirror:
        url = mirror.url
    with pytest.raises(DataError, match="could not download http://127.0.0.1"):  # the server is gone
        load_fashion_mnist(tmp_path / "fashion", download=True, base_url=url, checksums=md5s(files), timeout=5)
    assert leftovers(tmp_path / "fashion") == []


# --- the notebook's choice ---------------------------------------------------------------------------


def test_course_images_fall_back_to_digits_when_root_is_empty(tmp_path):
    data, message = load_course_images(tmp_path, seed=2)
    assert data.image_shape == (8, 8) and data.n_train == DIGITS_N_TRAIN
    assert torch.equal(data.X_train, load_digits_data(seed=2).X_train)
    assert f"Fashion-MNIST not found in {tmp_path}" in message and "digits" in message
    assert "\n" not in message


def test_course_images_use_fashion_mnist_when_present(fashion_root, monkeypatch):
    monkeypatch.setattr(data_module, "FASHION_MNIST_MD5", md5s(fashion_files()))
    monkeypatch.setenv("WD_COURSE_DATA", str(fashion_root))
    data, message = load_course_images()
    assert data.name == "Fashion-MNIST" and data.n_train == 3
    assert message.startswith(f"Using Fashion-MNIST from {fashion_root}: 3 training and 2 test images")
    subset, _ = load_course_images(fashion_root, n_train=2, seed=1)
    assert subset.n_train == 2 and subset.n_test == 2


def test_course_images_fall_back_when_fashion_mnist_is_corrupt(fashion_root):
    data, message = load_course_images(fashion_root)  # tiny files: the official checksums refuse them
    assert data.image_shape == (8, 8)
    assert "is unusable" in message and "digits" in message


def test_course_images_keep_the_lessons_size_of_fashion_mnist(fashion_root, monkeypatch):
    monkeypatch.setattr(data_module, "FASHION_MNIST_MD5", md5s(fashion_files()))
    monkeypatch.setattr(data_module, "FASHION_N_TRAIN", 2)
    data, message = load_course_images(fashion_root, seed=0)
    assert data.n_train == 2 and data.n_test == 2 and "2 training" in message
    full, _ = load_course_images(fashion_root, n_train=3)
    assert full.n_train == 3
    with pytest.raises(ValueError, match=r"n_train must be an integer in \[1, 3\]"):
        load_course_images(fashion_root, n_train=4)
