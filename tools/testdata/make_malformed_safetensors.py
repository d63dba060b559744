#!/usr/bin/python3
"""Generate the malformed safetensors corpus and the malformed shard-index directories.

Writes (replacing what was there):
  tests/data/malformed/safetensors/<case>   one broken file per rule of the format
  tests/data/malformed/safetensors/EXPECTED.tsv
  tests/data/malformed/index/<case>/        one broken model directory per index rule
  tests/data/malformed/index/EXPECTED.tsv
Each EXPECTED.tsv line is "<file or directory>\\t<substring moerge's error message must hold>".
Pure Python (struct, json, pickle, zipfile): run with /usr/bin/python3 from anywhere.
"""
import io
import json
import os
import pickle
import shutil
import struct
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_FILES = os.path.join(ROOT, "tests", "data", "malformed", "safetensors")
OUT_INDEX = os.path.join(ROOT, "tests", "data", "malformed", "index")


def raw(header_text, data=b"", length=None):
    """A file from header text (str or bytes) and data; `length` overrides the length field."""
    if isinstance(header_text, str):
        header_text = header_text.encode("utf-8")
    n = len(header_text) if length is None else length
    return struct.pack("<Q", n) + header_text + data


def entry(dtype="F32", shape=(2, 2), offsets=(0, 16)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


def st(header, data=b""):
    """A file from a header dict, padded with spaces like the reference writer."""
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - (8 + len(text)) % 8) % 8)
    return raw(text, data)


def valid(tensors):
    """A well-formed file from {name: (dtype, shape, bytes)}, laid out in name order."""
    header = {}
    data = b""
    for name in sorted(tensors):
        dtype, shape, payload = tensors[name]
        header[name] = entry(dtype, shape, (len(data), len(data) + len(payload)))
        data += payload
    return st(header, data)


def f32_bytes(values):
    return struct.pack("<%df" % len(values), *values)


W16 = f32_bytes([1.0, 2.0, 3.0, 4.0])  # F32 [2, 2]


def torch_zip_checkpoint():
    """Bytes shaped like torch >= 1.6 torch.save output: a zip holding archive/data.pkl."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"weight": [1.0, 2.0]}, protocol=2))
        archive.writestr("archive/version", "3\n")
    return buffer.getvalue()


def file_cases():
    """(file name, bytes, expected message substring)."""
    nested = "[" * 40 + "]" * 40
    cases = [
        ("empty.safetensors", b"", "shorter than 8 bytes"),
        ("short_5_bytes.safetensors", b"\x05\x00\x00\x00\x00", "shorter than 8 bytes"),
        ("header_length_zero.safetensors", raw(b"{}", length=0), "header length is 0"),
        ("header_length_over_limit.safetensors", raw(b"{}", length=100_000_001),
         "header length 100000001 exceeds the limit of 100000000 bytes"),
        ("header_length_u64_max.safetensors", raw(b"{}", length=2 ** 64 - 1),
         "header length 18446744073709551615 exceeds the limit"),
        ("header_past_end.safetensors", raw(b'{"a":1}', length=1000),
         "header length 1000 runs past the end of the file (15 bytes)"),
        ("header_invalid_utf8.safetensors", raw(b'{"w\xff":{}}'), "header is not valid UTF-8 at byte 3 (0xff)"),
        ("header_overlong_utf8.safetensors", raw(b'{"\xc0\xaf":{}}'), "header is not valid UTF-8 at byte 2 (0xc0)"),
        ("header_surrogate_utf8.safetensors", raw(b'{"\xed\xa0\x80":{}}'), "header is not valid UTF-8 at byte 3 (0xa0)"),
        ("header_truncated_utf8.safetensors", raw(b'{"a":{}}\xe2\x82'), "header is not valid UTF-8 at byte 8 (0xe2)"),
        ("header_not_json.safetensors", raw(b"not json"), "header is not valid JSON"),
        ("header_whitespace_only.safetensors", raw(b"        "), "header is not valid JSON"),
        ("header_trailing_garbage.safetensors", raw(b"{} x"), "header is not valid JSON"),
        ("header_nul_padding.safetensors", raw(b"{}\x00\x00\x00\x00\x00\x00"),
         "header is not valid JSON: NUL byte at byte 2"),
        ("header_nul_then_garbage.safetensors", raw(b'{"w":1}\x00{"x":'), "header is not valid JSON: NUL byte at byte 7"),
        ("header_lone_surrogate_escape.safetensors", raw(b'{"\\ud800":{}}'), "header is not valid JSON"),
        ("header_json_array.safetensors", raw(b"[]      "), "header is not a JSON object (found array []"),
        ("header_json_string.safetensors", raw(b'"tensors"'), "header is not a JSON object (found string"),
        ("header_too_deep.safetensors", raw('{"w":{"dtype":"F32","shape":%s,"data_offsets":[0,0]}}' % nested),
         "header nests JSON deeper than 16 levels"),
        ("duplicate_tensor_key.safetensors",
         raw('{"w":%s,"w":%s}' % (json.dumps(entry()), json.dumps(entry())), W16), "header has duplicate key 'w'"),
        ("duplicate_field.safetensors",
         raw('{"w":{"dtype":"F32","dtype":"F16","shape":[2,2],"data_offsets":[0,16]}}', W16),
         "header has duplicate key 'dtype' inside 'w'"),
        ("duplicate_metadata_key.safetensors",
         raw('{"__metadata__":{"k":"a","k":"b"},"w":%s}' % json.dumps(entry()), W16),
         "header has duplicate key 'k' inside '__metadata__'"),
        ("unknown_dtype.safetensors", st({"w": entry(dtype="F128")}, W16), "tensor 'w': unknown dtype \"F128\""),
        ("dtype_lowercase.safetensors", st({"w": entry(dtype="f32")}, W16), "tensor 'w': unknown dtype \"f32\""),
        ("dtype_not_string.safetensors", st({"w": {"dtype": 4, "shape": [2, 2], "data_offsets": [0, 16]}}, W16),
         "tensor 'w': dtype must be a string (found 4)"),
        ("negative_dimension.safetensors", st({"w": entry(shape=(4, -4))}, W16),
         "tensor 'w': shape [4,-4] has a negative dimension -4"),
        ("fractional_dimension.safetensors", st({"w": {"dtype": "F32", "shape": [2.5], "data_offsets": [0, 16]}}, W16),
         "tensor 'w': shape must be an array of non-negative integers (found [2.5])"),
        ("shape_not_array.safetensors", st({"w": {"dtype": "F32", "shape": "4", "data_offsets": [0, 16]}}, W16),
         "tensor 'w': shape must be an array of non-negative integers (found \"4\")"),
        ("dimension_above_int64.safetensors", st({"w": entry(shape=(2 ** 63,))}, W16),
         "tensor 'w': shape [9223372036854775808] has dimension 9223372036854775808 above 2^63 - 1"),
        ("element_count_overflow.safetensors", st({"w": entry(shape=(2 ** 32, 2 ** 32))}, W16),
         "tensor 'w': element count of F32 x [4294967296, 4294967296] overflows 64 bits"),
        ("byte_count_overflow.safetensors", st({"w": entry(dtype="I64", shape=(2 ** 61,))}, W16),
         "tensor 'w': element count of I64 x [2305843009213693952] overflows 64 bits"),
        ("offsets_three_values.safetensors", st({"w": entry(offsets=(0, 8, 16))}, W16),
         "tensor 'w': data_offsets must be two non-negative integers [begin, end] (found [0,8,16])"),
        ("offsets_negative.safetensors", st({"w": entry(offsets=(-16, 0))}, W16),
         "tensor 'w': data_offsets must be two non-negative integers [begin, end] (found [-16,0])"),
        ("offsets_strings.safetensors", st({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": ["0", "16"]}}, W16),
         "tensor 'w': data_offsets must be two non-negative integers"),
        ("offsets_float.safetensors", st({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16.0]}}, W16),
         "tensor 'w': data_offsets must be two non-negative integers [begin, end] (found [0,16.0])"),
        ("offsets_beyond_u64.safetensors", raw('{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,%d]}}' % 2 ** 64, W16),
         "tensor 'w': data_offsets must be two non-negative integers"),
        ("offsets_not_array.safetensors", st({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": 16}}, W16),
         "tensor 'w': data_offsets must be two non-negative integers [begin, end] (found 16)"),
        ("begin_after_end.safetensors", st({"w": entry(offsets=(16, 0))}, W16),
         "tensor 'w': data_offsets [16, 0] have begin after end"),
        ("first_offset_not_zero.safetensors", st({"w": entry(offsets=(4, 20))}, b"\0" * 4 + W16),
         "tensor 'w': data_offsets [4, 20]: the first tensor must begin at offset 0"),
        ("gap_between_tensors.safetensors",
         st({"a": entry(offsets=(0, 16)), "b": entry(offsets=(20, 36))}, W16 + b"\0" * 4 + W16),
         "tensor 'b': data_offsets [20, 36] leave a gap of 4 bytes after tensor 'a' (data_offsets [0, 16])"),
        ("overlapping_tensors.safetensors",
         st({"a": entry(offsets=(0, 16)), "b": entry(offsets=(8, 24))}, W16 + b"\0" * 8),
         "tensor 'b': data_offsets [8, 24] overlap tensor 'a' (data_offsets [0, 16])"),
        ("zero_size_inside_other.safetensors",
         st({"a": entry(offsets=(0, 16)), "z": entry(shape=(0, 4), offsets=(8, 8))}, W16),
         "tensor 'z': data_offsets [8, 8] overlap tensor 'a' (data_offsets [0, 16])"),
        ("size_differs_from_shape.safetensors", st({"model.norm.weight": entry(shape=(4, 4), offsets=(0, 12))}, W16[:12]),
         "tensor 'model.norm.weight': data_offsets [0, 12] hold 12 bytes but F32 x [4, 4] needs 64"),
        ("size_differs_bf16.safetensors", st({"w": entry(dtype="BF16", shape=(2, 2), offsets=(0, 16))}, W16),
         "tensor 'w': data_offsets [0, 16] hold 16 bytes but BF16 x [2, 2] needs 8"),
        ("trailing_bytes.safetensors", st({"w": entry()}, W16 + b"\0" * 4),
         "trailing bytes: 4 bytes follow the last tensor 'w' (data_offsets [0, 16])"),
        ("no_tensors_trailing_bytes.safetensors", st({}, b"\0" * 8),
         "trailing bytes: the header names no tensors but 8 data bytes follow it"),
        ("data_past_end.safetensors", st({"w": entry()}, W16[:8]),
         "tensor 'w': data_offsets [0, 16] run past the end of the file (the data section holds 8 bytes)"),
        ("missing_field_shape.safetensors", st({"w": {"dtype": "F32", "data_offsets": [0, 16]}}, W16),
         "tensor 'w': missing field 'shape'"),
        ("missing_field_offsets.safetensors", st({"w": {"dtype": "F32", "shape": [2, 2]}}, W16),
         "tensor 'w': missing field 'data_offsets'"),
        ("unknown_field.safetensors", st({"w": dict(entry(), scale=1)}, W16), "tensor 'w': unknown field 'scale' (value 1)"),
        ("entry_not_object.safetensors", st({"w": [0, 16]}, W16),
         "tensor 'w': entry must be a JSON object with dtype, shape and data_offsets (found [0,16])"),
        ("metadata_not_object.safetensors", st({"__metadata__": ["format", "pt"], "w": entry()}, W16),
         "'__metadata__' must be an object of string to string (found [\"format\",\"pt\"])"),
        ("metadata_value_not_string.safetensors", st({"__metadata__": {"n": 3}, "w": entry()}, W16),
         "'__metadata__' key 'n' has a non-string value 3"),
        # PyTorch checkpoints, refused by their magic bytes (zip archive; raw pickle protocol 2).
        ("pytorch_model.bin", torch_zip_checkpoint(), "is a PyTorch pickle checkpoint (zip/pickle)"),
        ("checkpoint.pt", pickle.dumps({"weight": [1.0, 2.0, 3.0]}, protocol=2),
         "is a PyTorch pickle checkpoint (zip/pickle)"),
        ("legacy_torch_save.pt", b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.\x80\x02M\xe9\x03.",
         "is a PyTorch pickle checkpoint (zip/pickle)"),
        ("pickle_protocol4.safetensors", pickle.dumps({"w": 1}, protocol=4), "is a PyTorch pickle checkpoint (zip/pickle)"),
    ]
    return cases


def write_index(directory, weight_map, metadata=None, text=None):
    if text is None:
        document = {"metadata": metadata if metadata is not None else {"total_size": 0}, "weight_map": weight_map}
        text = json.dumps(document, indent=2)
    with open(os.path.join(directory, "model.safetensors.index.json"), "w") as handle:
        handle.write(text)


def index_cases():
    """(directory name, builder(directory), expected message substring)."""
    shard1 = "model-00001-of-00002.safetensors"
    shard2 = "model-00002-of-00002.safetensors"
    a_only = valid({"a": ("F32", [2, 2], W16)})
    b_only = valid({"b": ("F32", [2, 2], W16)})

    def put(directory, name, data):
        with open(os.path.join(directory, name), "wb") as handle:
            handle.write(data)

    def missing_shard(d):
        put(d, shard1, a_only)
        write_index(d, {"a": shard1, "b": shard2})

    def tensor_absent(d):
        put(d, shard1, a_only)
        put(d, shard2, b_only)
        write_index(d, {"a": shard1, "b": shard2, "c": shard2})

    def absolute_path(d):
        put(d, shard1, a_only)
        write_index(d, {"a": "/tmp/" + shard1})

    def dotdot(d):
        put(d, shard1, a_only)
        write_index(d, {"a": "../" + shard1})

    def dotdot_inner(d):
        put(d, shard1, a_only)
        write_index(d, {"a": "sub/../../" + shard1})

    def unnamed_tensor(d):
        put(d, shard1, valid({"a": ("F32", [2, 2], W16), "extra": ("F32", [2, 2], W16)}))
        put(d, shard2, b_only)
        write_index(d, {"a": shard1, "b": shard2})

    def wrong_shard(d):
        put(d, shard1, valid({"a": ("F32", [2, 2], W16), "b": ("F32", [2, 2], W16)}))
        put(d, shard2, b_only)
        write_index(d, {"a": shard1, "b": shard2})

    def no_weight_map(d):
        put(d, shard1, a_only)
        write_index(d, None, text='{"metadata": {"total_size": 16}}')

    def weight_map_not_object(d):
        put(d, shard1, a_only)
        write_index(d, None, text='{"weight_map": ["a", "%s"]}' % shard1)

    def empty_weight_map(d):
        write_index(d, {})

    def shard_not_string(d):
        put(d, shard1, a_only)
        write_index(d, {"a": 1})

    def index_not_json(d):
        put(d, shard1, a_only)
        write_index(d, None, text='{"weight_map": {"a": "%s",}}' % shard1)

    def index_duplicate(d):
        put(d, shard1, a_only)
        write_index(d, None, text='{"weight_map": {"a": "%s", "a": "%s"}}' % (shard1, shard1))

    def metadata_not_object(d):
        put(d, shard1, a_only)
        write_index(d, None, text='{"metadata": 16, "weight_map": {"a": "%s"}}' % shard1)

    def shard_malformed(d):
        put(d, shard1, a_only + b"\0" * 8)
        write_index(d, {"a": shard1})

    def shard_is_directory(d):
        os.mkdir(os.path.join(d, shard1))
        with open(os.path.join(d, shard1, "README"), "w") as handle:
            handle.write("a directory where a shard should be\n")
        write_index(d, {"a": shard1})

    def pickle_only(d):
        put(d, "pytorch_model.bin", torch_zip_checkpoint())
        put(d, "config.json", b'{"model_type": "llama"}\n')

    def no_weights(d):
        put(d, "config.json", b'{"model_type": "llama"}\n')

    return [
        ("missing_shard", missing_shard,
         "tensor 'b': shard 'model-00002-of-00002.safetensors' does not exist"),
        ("tensor_absent_from_shard", tensor_absent,
         "tensor 'c' absent from its shard 'model-00002-of-00002.safetensors'"),
        ("absolute_shard_path", absolute_path, "tensor 'a': shard path '/tmp/model-00001-of-00002.safetensors' is absolute"),
        ("dotdot_shard_path", dotdot, "tensor 'a': shard path '../model-00001-of-00002.safetensors' contains '..'"),
        ("dotdot_inside_shard_path", dotdot_inner, "contains '..'"),
        ("tensor_not_in_weight_map", unnamed_tensor,
         "shard 'model-00001-of-00002.safetensors' holds tensor 'extra' that the weight_map does not name"),
        ("tensor_in_two_shards", wrong_shard,
         "shard 'model-00001-of-00002.safetensors' holds tensor 'b' that the weight_map assigns to shard "
         "'model-00002-of-00002.safetensors'"),
        ("no_weight_map", no_weight_map, "index has no 'weight_map'"),
        ("weight_map_not_object", weight_map_not_object, "'weight_map' must be an object of tensor name to shard file"),
        ("empty_weight_map", empty_weight_map, "'weight_map' names no tensors"),
        ("shard_not_string", shard_not_string, "tensor 'a': shard must be a file name string (found 1)"),
        ("index_not_json", index_not_json, "index is not valid JSON"),
        ("index_duplicate_tensor", index_duplicate, "index has duplicate key 'a' inside 'weight_map'"),
        ("index_metadata_not_object", metadata_not_object, "'metadata' must be an object (found 16)"),
        ("shard_malformed", shard_malformed, "trailing bytes: 8 bytes follow the last tensor 'a'"),
        ("shard_is_directory", shard_is_directory, "shard 'model-00001-of-00002.safetensors' is not a regular file"),
        ("pickle_only", pickle_only, "pytorch_model.bin: is a PyTorch pickle checkpoint (zip/pickle)"),
        ("no_weights", no_weights, "holds neither model.safetensors nor model.safetensors.index.json"),
    ]


def write_manifest(directory, rows):
    with open(os.path.join(directory, "EXPECTED.tsv"), "w") as handle:
        handle.write("# generated by tools/testdata/make_malformed_safetensors.py: name<TAB>expected error substring\n")
        for name, expected in rows:
            assert "\t" not in expected and "\n" not in expected
            handle.write("%s\t%s\n" % (name, expected))


def main():
    for directory in (OUT_FILES, OUT_INDEX):
        if os.path.isdir(directory):
            shutil.rmtree(directory)
        os.makedirs(directory)
    rows = []
    for name, data, expected in file_cases():
        with open(os.path.join(OUT_FILES, name), "wb") as handle:
            handle.write(data)
        rows.append((name, expected))
    write_manifest(OUT_FILES, rows)
    rows = []
    for name, build, expected in index_cases():
        case_dir = os.path.join(OUT_INDEX, name)
        os.makedirs(case_dir)
        build(case_dir)
        rows.append((name, expected))
    write_manifest(OUT_INDEX, rows)
    print("wrote %d malformed files to %s and %d index cases to %s"
          % (len(file_cases()), OUT_FILES, len(index_cases()), OUT_INDEX))


if __name__ == "__main__":
    main()
