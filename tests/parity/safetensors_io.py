#!/usr/bin/env python3
"""Pure-Python safetensors reader and writer for FastRnn's parity tooling.

Debian has no `safetensors` package, so this implements the format
(https://github.com/huggingface/safetensors) with struct + json + numpy, for the
dtypes FastRnn uses: F32, F64, I32, I64. torch tensors are accepted by `save`,
and `load(..., as_torch=True)` returns torch tensors.

    from safetensors_io import save, load, load_with_metadata
    save("model.safetensors", {"weight_ih_l0": w, "lengths": lengths}, metadata={"format": "pt"})
    tensors = load("model.safetensors")            # name -> numpy array, in header order

Files are byte-identical to FastRnn's `SafetensorsWriter` for the same tensors
added in the same order: "__metadata__" first, then the tensors in insertion
order; the data holds the 8-byte dtypes first, then the 4-byte ones (each tensor
naturally aligned, no gaps); the header is padded with spaces to a multiple of 8.

The reader enforces the same rules as FastRnn's `SafetensorsFile`: header length
at most 100,000,000 bytes and within the file, UTF-8 JSON object, no duplicate
keys, exactly the fields dtype/shape/data_offsets, non-negative integer shapes
and offsets, size == product(shape) * itemsize, tensors tiling the data with no
gap, overlap or trailing bytes, string metadata. Violations raise ValueError.

Command line (run from the repository root):

    /usr/bin/python3.11 tests/parity/safetensors_io.py --self-test
    /usr/bin/python3.11 tests/parity/safetensors_io.py --write-fixture tests/parity/safetensors_fixture.safetensors
    /usr/bin/python3.11 tests/parity/safetensors_io.py --dump FILE
"""

import json
import math
import os
import struct
import sys

import numpy as np

MAX_HEADER_LENGTH = 100_000_000
METADATA_KEY = "__metadata__"
DTYPES = {
    "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"),
    "I32": np.dtype("<i4"),
    "I64": np.dtype("<i8"),
}
_NAMES_BY_KIND = {("f", 4): "F32", ("f", 8): "F64", ("i", 4): "I32", ("i", 8): "I64"}


def _to_numpy(value):
    """A C-contiguous little-endian numpy array from a numpy array, torch tensor or nested list."""
    if hasattr(value, "detach"):  # torch.Tensor, without importing torch when it is not needed
        value = value.detach().cpu().contiguous().numpy()
    array = np.asarray(value)
    key = (array.dtype.kind, array.dtype.itemsize)
    if key not in _NAMES_BY_KIND:
        raise ValueError(f"unsupported dtype {array.dtype} (FastRnn files hold float32, float64, int32, int64)")
    name = _NAMES_BY_KIND[key]
    # Not np.ascontiguousarray: it turns a 0-d scalar into shape (1,).
    return name, array.astype(DTYPES[name], order="C", copy=False)


def serialize(tensors, metadata=None):
    """The bytes of a safetensors file holding `tensors` (a dict name -> array) and `metadata` (dict str -> str)."""
    entries = []
    for name, value in tensors.items():
        if not isinstance(name, str) or name == METADATA_KEY:
            raise ValueError(f"invalid tensor name {name!r}")
        dtype, array = _to_numpy(value)
        entries.append((name, dtype, [int(d) for d in array.shape], array.tobytes(order="C")))

    # Data order: 8-byte dtypes first, then 4-byte ones, each in insertion order (natural alignment, no gaps).
    data_order = [e for e in entries if DTYPES[e[1]].itemsize == 8] + [e for e in entries if DTYPES[e[1]].itemsize == 4]
    offsets, position = {}, 0
    for name, _, _, data in data_order:
        offsets[name] = (position, position + len(data))
        position += len(data)

    header = {}
    if metadata:
        for key, value in metadata.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise ValueError(f"metadata must map strings to strings, got {key!r}: {value!r}")
        header[METADATA_KEY] = dict(metadata)
    for name, dtype, shape, _ in entries:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": list(offsets[name])}
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(e[3] for e in data_order)


def save(path, tensors, metadata=None):
    """Writes `tensors` (dict name -> numpy array / torch tensor) to `path`, replacing it only when complete."""
    blob = serialize(tensors, metadata)
    temporary = f"{path}.tmp"
    with open(temporary, "wb") as f:
        f.write(blob)
    os.replace(temporary, path)


def _fail(message):
    raise ValueError(f"invalid safetensors file: {message}")


def _no_duplicates(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            _fail(f"key {key!r} appears twice")
        result[key] = value
    return result


def _reject_constant(name):
    _fail(f"{name} is not valid JSON")


def _non_negative_int(value, what, maximum):
    # bool is an int subclass in Python; JSON true is not a number.
    if type(value) is not int:
        _fail(f"{what} must be a non-negative integer, got {value!r}")
    if value < 0 or value > maximum:
        _fail(f"{what} is {value}, outside [0, {maximum}]")
    return value


def parse(blob):
    """(tensors, metadata) from the bytes of a file; tensors maps names to numpy arrays in header order."""
    if len(blob) < 8:
        _fail(f"the file is {len(blob)} bytes long; it starts with an 8-byte header length")
    (n,) = struct.unpack_from("<Q", blob)
    if n == 0 or n > MAX_HEADER_LENGTH:
        _fail(f"header length {n} is outside [1, {MAX_HEADER_LENGTH}]")
    if n > len(blob) - 8:
        _fail(f"header length {n} is larger than the {len(blob) - 8} bytes after the length field")
    raw = blob[8:8 + n]
    if raw[:1] != b"{":
        _fail("the header must be a JSON object starting with '{'")
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        _fail(f"the header is not valid UTF-8 JSON: {e}")
    if not isinstance(header, dict):
        _fail("the header must be a JSON object")
    data = memoryview(blob)[8 + n:]

    metadata = header.pop(METADATA_KEY, None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        _fail(f"{METADATA_KEY} must map strings to strings")

    infos = []
    for name, info in header.items():
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            _fail(f"tensor {name!r} must have exactly dtype, shape and data_offsets, got {info!r}")
        dtype = info["dtype"]
        if dtype not in DTYPES:
            _fail(f"unsupported dtype {dtype!r} for tensor {name!r} (supported: F32, F64, I32, I64)")
        shape, offsets = info["shape"], info["data_offsets"]
        if not isinstance(shape, list) or not isinstance(offsets, list) or len(offsets) != 2:
            _fail(f"tensor {name!r}: shape must be a list and data_offsets [begin, end]")
        shape = [_non_negative_int(d, f"tensor {name!r}: shape[{i}]", 2**31 - 1) for i, d in enumerate(shape)]
        begin, end = (_non_negative_int(o, f"tensor {name!r}: data_offsets[{i}]", 2**63 - 1) for i, o in enumerate(offsets))
        if begin > end:
            _fail(f"tensor {name!r}: data_offsets [{begin}, {end}] end before they begin")
        count = math.prod(shape)
        if count * DTYPES[dtype].itemsize != end - begin:
            _fail(f"tensor {name!r}: shape {shape} of {dtype} does not fill data_offsets [{begin}, {end}]")
        if end > len(data):
            _fail(f"tensor {name!r}: data_offsets [{begin}, {end}] run past the {len(data)} bytes of data")
        infos.append((name, dtype, shape, begin, end))

    covered = 0
    for name, _, _, begin, end in sorted(infos, key=lambda t: (t[3], t[4])):
        if begin != covered:
            _fail(f"tensor {name!r} begins at {begin}, expected {covered} (overlap or gap)")
        covered = end
    if covered != len(data):
        _fail(f"the tensors cover {covered} bytes of data, but {len(data)} follow the header")

    tensors = {}
    for name, dtype, shape, begin, end in infos:
        tensors[name] = np.frombuffer(data[begin:end], dtype=DTYPES[dtype]).reshape(tuple(shape)).copy()
    return tensors, metadata


def load_with_metadata(path, as_torch=False):
    """(tensors, metadata) read from `path`."""
    with open(path, "rb") as f:
        tensors, metadata = parse(f.read())
    if as_torch:
        import torch
        tensors = {name: torch.from_numpy(array) for name, array in tensors.items()}
    return tensors, metadata


def load(path, as_torch=False):
    """name -> numpy array (or torch tensor with as_torch=True), in header order."""
    return load_with_metadata(path, as_torch)[0]


def fixture_tensors():
    """The tensors of tests/parity/safetensors_fixture.safetensors; the C# test builds the same ones."""
    bias = np.array([0.1, -0.0, np.inf, 0.0], dtype=np.float32)
    bias.view("<u4")[3] = 0x7FC00001  # a NaN with a payload: bits must survive the round trip
    return {
        "weight_ih_l0": np.array([(i - 5.5) / 4 for i in range(12)], dtype=np.float32).reshape(4, 3),
        "bias": bias,
        "scalar": np.array(math.pi, dtype=np.float64),
        "lengths": np.array([2, -5, 2**31 - 1, -2**31], dtype=np.int32),
        "steps": np.array([-2**63, 2**63 - 1], dtype=np.int64),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "x": np.array([[0.1, -1e-300], [5e-324, 1.7976931348623157e308]], dtype=np.float64),
    }


FIXTURE_METADATA = {"format": "pt", "source": "tests/parity/safetensors_io.py"}


def _same(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def self_test():
    tensors = fixture_tensors()
    blob = serialize(tensors, FIXTURE_METADATA)
    assert struct.unpack_from("<Q", blob)[0] % 8 == 0
    back, metadata = parse(blob)
    assert metadata == FIXTURE_METADATA
    assert list(back) == list(tensors)
    assert all(_same(tensors[k], back[k]) for k in tensors)

    # The reference implementation's bytes for an empty file and for one F32 tensor.
    assert serialize({}) == struct.pack("<Q", 8) + b"{}      "
    one = serialize({"attn.0": np.arange(6, dtype=np.float32).reshape(1, 2, 3)})
    assert one[:8] == struct.pack("<Q", 64) and one[8:72] == b'{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}'

    try:
        import torch
        t = {"w": torch.arange(6, dtype=torch.float32).reshape(2, 3), "n": torch.tensor([1, 2], dtype=torch.int64)}
        again = parse(serialize(t))[0]
        assert _same(again["w"], t["w"].numpy()) and _same(again["n"], t["n"].numpy())
    except ImportError:
        pass

    def rejects(header, data=b"", length=None):
        raw = header.encode("utf-8")
        blob = struct.pack("<Q", len(raw) if length is None else length) + raw + data
        try:
            parse(blob)
        except ValueError:
            return
        raise AssertionError(f"accepted {header!r}")

    a = '"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}'
    rejects("{" + a + "}", b"\0" * 4)                      # truncated data
    rejects("{" + a + "}", b"\0" * 12)                     # trailing bytes
    rejects("{" + a + "," + a + "}", b"\0" * 8)            # duplicate name
    rejects('{"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}', b"\0" * 4)
    rejects('{"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}', b"\0" * 8)
    rejects('{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}', b"\0" * 8)
    rejects('{"a":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}}', b"\0" * 4)
    rejects('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}', b"\0" * 12)
    rejects('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', b"\0" * 8)
    rejects('{"__metadata__":{"k":1}}')
    rejects("{}", length=100_000_001)
    rejects("{}", length=3)
    print("safetensors_io self-test passed")


def dump(path):
    tensors, metadata = load_with_metadata(path)
    print(f"metadata {json.dumps(metadata, sort_keys=True)}")
    for name, array in tensors.items():
        values = " ".join(repr(v) for v in array.reshape(-1).tolist())
        print(f"{name} {array.dtype.str} {list(array.shape)} {values}")


def main(argv):
    if len(argv) == 2 and argv[1] == "--self-test":
        self_test()
    elif len(argv) == 3 and argv[1] == "--write-fixture":
        save(argv[2], fixture_tensors(), FIXTURE_METADATA)
    elif len(argv) == 3 and argv[1] == "--dump":
        dump(argv[2])
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
