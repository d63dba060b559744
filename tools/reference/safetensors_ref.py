#!/usr/bin/python3
"""Independent safetensors reader/writer (struct + json + numpy), used to cross-check moerge.

Written from the format description, not from moerge's C++ code:
  8-byte little-endian header length N, N bytes of UTF-8 JSON
  {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}},
  then the data section; offsets are relative to the data section.

Commands:
  check FILE EXPECTED.json     read FILE and compare names, dtypes, shapes, bytes and values with
                               EXPECTED.json; also check the writer's promises (sorted keys,
                               8-byte aligned data, tensors laid out in key order)
  make-sample OUT.safetensors EXPECTED.json
                               write a file with numpy-made tensors (keys unsorted, header not
                               padded) and the expected names, dtypes, shapes, bytes and values
  expect-invalid FILE...       exit 0 only when every FILE is rejected by this reader
  dump FILE                    print what the reader finds

EXPECTED.json: {"metadata": {str: str}, "tensors": {name: {"dtype": str, "shape": [int],
"hex": str (the raw little-endian bytes), "values": [number] (F32/F16/BF16 as float32 values,
integers as ints)}}}
"""
import json
import struct
import sys

MAX_HEADER = 100_000_000
DTYPE_SIZES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2,
    "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8,
}


class Invalid(Exception):
    pass


def _reject_duplicates(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise Invalid("duplicate key %r" % key)
        seen[key] = value
    return seen


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def read(path):
    """Return (header_size, metadata, {name: (dtype, shape, bytes)}); raise Invalid on any breach."""
    with open(path, "rb") as handle:
        blob = handle.read()
    if len(blob) < 8:
        raise Invalid("file shorter than 8 bytes")
    (n,) = struct.unpack("<Q", blob[:8])
    if n == 0 or n > MAX_HEADER or 8 + n > len(blob):
        raise Invalid("bad header length %d" % n)
    try:
        text = blob[8:8 + n].decode("utf-8", errors="strict")
    except UnicodeDecodeError as error:
        raise Invalid("header not UTF-8: %s" % error)
    try:
        header = json.loads(text, object_pairs_hook=_reject_duplicates)
    except (ValueError, RecursionError) as error:
        raise Invalid("header not JSON: %s" % error)
    try:
        json.dumps(header, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as error:
        raise Invalid("header holds a lone surrogate: %s" % error)
    if not isinstance(header, dict):
        raise Invalid("header not an object")
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise Invalid("__metadata__ not str -> str")
    data = blob[8 + n:]
    spans = []
    tensors = {}
    for name, info in header.items():
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise Invalid("%s: entry fields %r" % (name, info))
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in DTYPE_SIZES:
            raise Invalid("%s: unknown dtype %r" % (name, dtype))
        if not isinstance(shape, list) or not all(_is_count(d) for d in shape):
            raise Invalid("%s: bad shape %r" % (name, shape))
        if not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_count(o) for o in offsets):
            raise Invalid("%s: bad data_offsets %r" % (name, offsets))
        begin, end = offsets
        count = 1
        for dim in shape:
            count *= dim
            if count >= 2 ** 63:
                raise Invalid("%s: element count overflows" % name)
        if count * DTYPE_SIZES[dtype] >= 2 ** 64:
            raise Invalid("%s: byte count overflows" % name)
        if begin > end or end > len(data) or end - begin != count * DTYPE_SIZES[dtype]:
            raise Invalid("%s: data_offsets %r do not fit %s x %r" % (name, offsets, dtype, shape))
        spans.append((begin, end, name))
        tensors[name] = (dtype, list(shape), data[begin:end])
    position = 0
    for begin, end, name in sorted(spans):
        if begin != position:
            raise Invalid("%s: begins at %d, expected %d" % (name, begin, position))
        position = end
    if position != len(data):
        raise Invalid("%d trailing bytes" % (len(data) - position))
    return n, metadata, tensors


def header_keys_in_file_order(path):
    with open(path, "rb") as handle:
        (n,) = struct.unpack("<Q", handle.read(8))
        text = handle.read(n).decode("utf-8")
    return [key for key, _ in json.loads(text, object_pairs_hook=lambda pairs: pairs)], text


def values_of(dtype, raw):
    """Decode raw little-endian bytes: float dtypes to float32 (bf16 by a 16-bit shift), ints as ints."""
    import numpy as np

    if dtype == "F32":
        return np.frombuffer(raw, dtype="<f4").astype(np.float32)
    if dtype == "F16":
        return np.frombuffer(raw, dtype="<f2").astype(np.float32)
    if dtype == "BF16":
        bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << np.uint32(16)
        return bits.view(np.float32)
    ints = {"U8": "u1", "I8": "i1", "I16": "<i2", "U16": "<u2", "I32": "<i4", "U32": "<u4",
            "I64": "<i8", "U64": "<u8", "BOOL": "u1"}
    if dtype in ints:
        return np.frombuffer(raw, dtype=ints[dtype])
    return None


def same_values(dtype, actual, expected):
    import numpy as np

    if dtype in ("F32", "F16", "BF16"):
        want = np.array(expected, dtype=np.float64).astype(np.float32)
        return actual.shape == want.shape and np.array_equal(actual.view(np.uint32), want.view(np.uint32))
    return [int(v) for v in actual] == [int(v) for v in expected]


def command_check(path, expected_path):
    with open(expected_path) as handle:
        expected = json.load(handle)
    n, metadata, tensors = read(path)
    problems = []
    if (8 + n) % 8 != 0:
        problems.append("data section not 8-byte aligned (8 + %d)" % n)
    keys, _ = header_keys_in_file_order(path)
    if keys != sorted(keys):
        problems.append("header keys not sorted: %r" % keys)
    _, text = header_keys_in_file_order(path)
    entries = json.loads(text)
    names = sorted(tensors)
    position = 0
    for name in names:
        begin, end = entries[name]["data_offsets"]
        if begin != position:
            problems.append("%s: not laid out in key order (begins at %d, expected %d)" % (name, begin, position))
        position = end
    if metadata != expected.get("metadata", {}):
        problems.append("metadata %r != %r" % (metadata, expected.get("metadata", {})))
    want = expected["tensors"]
    if sorted(want) != names:
        problems.append("names %r != %r" % (names, sorted(want)))
    for name in sorted(set(want) & set(tensors)):
        dtype, shape, raw = tensors[name]
        if dtype != want[name]["dtype"]:
            problems.append("%s: dtype %s != %s" % (name, dtype, want[name]["dtype"]))
        if shape != want[name]["shape"]:
            problems.append("%s: shape %r != %r" % (name, shape, want[name]["shape"]))
        if raw.hex() != want[name]["hex"]:
            problems.append("%s: bytes differ" % name)
        if "values" in want[name]:
            actual = values_of(dtype, raw)
            if actual is None or not same_values(dtype, actual, want[name]["values"]):
                problems.append("%s: values differ: %r != %r" % (name, actual, want[name]["values"]))
    for problem in problems:
        print("safetensors_ref: %s: %s" % (path, problem), file=sys.stderr)
    if problems:
        return 1
    print("safetensors_ref: %s: %d tensors match" % (path, len(names)))
    return 0


def f32_to_bf16_bits(values):
    """Round float32 to bf16 bits, nearest even (values here are finite)."""
    import numpy as np

    bits = np.asarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + np.uint64(0x7FFF) + ((bits >> np.uint64(16)) & np.uint64(1))) >> np.uint64(16)
    return rounded.astype(np.uint16)


def command_make_sample(out_path, expected_path):
    import numpy as np

    rng = np.random.default_rng(20240601)
    arrays = {}  # name -> (dtype, shape, raw bytes, values or None)
    f32 = rng.standard_normal((3, 5)).astype(np.float32)
    arrays["layers.0.weight"] = ("F32", [3, 5], f32.astype("<f4").tobytes(), f32.ravel().tolist())
    f16 = (rng.standard_normal((4, 2)) * 100).astype(np.float16)
    arrays["layers.0.f16"] = ("F16", [4, 2], f16.astype("<f2").tobytes(),
                              f16.astype(np.float32).ravel().tolist())
    source = rng.standard_normal(7).astype(np.float32) * np.float32(1e3)
    bf16 = f32_to_bf16_bits(source)
    bf16_values = (bf16.astype(np.uint32) << np.uint32(16)).view(np.float32)
    arrays["norm.bf16"] = ("BF16", [7], bf16.astype("<u2").tobytes(), bf16_values.tolist())
    i64 = np.array([[-(2 ** 62), -1, 0], [1, 2 ** 40, 2 ** 63 - 1]], dtype="<i8")
    arrays["ids.i64"] = ("I64", [2, 3], i64.tobytes(), i64.ravel().tolist())
    u8 = np.arange(0, 250, 7, dtype=np.uint8)
    arrays["mask.u8"] = ("U8", [len(u8)], u8.tobytes(), u8.tolist())
    arrays["scalar.f32"] = ("F32", [], np.array([3.5], dtype="<f4").tobytes(), [3.5])
    arrays["empty.f32"] = ("F32", [0, 4], b"", [])
    arrays["fp8.e4m3"] = ("F8_E4M3", [3], bytes([0x01, 0x7F, 0xF0]), None)

    # Lay out in reverse name order and write the header unsorted and unpadded: a reader must not
    # depend on either.
    header = {"__metadata__": {"format": "pt", "source": "safetensors_ref.py"}}
    position = 0
    chunks = []
    for name in sorted(arrays, reverse=True):
        dtype, shape, raw, _ = arrays[name]
        header[name] = {"shape": shape, "dtype": dtype, "data_offsets": [position, position + len(raw)]}
        chunks.append(raw)
        position += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    with open(out_path, "wb") as handle:
        handle.write(struct.pack("<Q", len(text)))
        handle.write(text)
        for chunk in chunks:
            handle.write(chunk)
    expected = {"metadata": header["__metadata__"], "tensors": {}}
    for name, (dtype, shape, raw, values) in arrays.items():
        entry = {"dtype": dtype, "shape": shape, "hex": raw.hex()}
        if values is not None:
            entry["values"] = values
        expected["tensors"][name] = entry
    with open(expected_path, "w") as handle:
        json.dump(expected, handle, indent=1)
    read(out_path)  # the sample must satisfy this reader too
    return 0


def command_expect_invalid(paths):
    accepted = []
    for path in paths:
        try:
            read(path)
            accepted.append(path)
        except Invalid:
            pass
    for path in accepted:
        print("safetensors_ref: %s: accepted, but it should be invalid" % path, file=sys.stderr)
    return 1 if accepted else 0


def command_dump(path):
    n, metadata, tensors = read(path)
    print("header %d bytes, metadata %r" % (n, metadata))
    for name in sorted(tensors):
        dtype, shape, raw = tensors[name]
        print("%s %s %r %d bytes" % (name, dtype, shape, len(raw)))
    return 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "dump":
        return command_dump(argv[1])
    if len(argv) == 3 and argv[0] == "check":
        return command_check(argv[1], argv[2])
    if len(argv) == 3 and argv[0] == "make-sample":
        return command_make_sample(argv[1], argv[2])
    if len(argv) >= 2 and argv[0] == "expect-invalid":
        return command_expect_invalid(argv[1:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Invalid as error:
        print("safetensors_ref: invalid: %s" % error, file=sys.stderr)
        sys.exit(1)
