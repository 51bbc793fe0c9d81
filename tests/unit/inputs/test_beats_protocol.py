"""The Lumberjack v2 decoder: windows out of any byte stream, refusals for everything else."""
from __future__ import annotations

import struct
import tracemalloc
import zlib

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logpipe.inputs.beats.protocol import (
    Decoder,
    Limits,
    ProtocolError,
    Window,
    decode_acks,
    encode_ack,
    encode_compressed,
    encode_data,
    encode_json,
    encode_window,
    encode_window_of,
)
from logpipe.errors import DecodeError


def docs(n: int, start: int = 0) -> list[dict[str, object]]:
    return [{"message": f"line {i}", "n": i} for i in range(start, start + n)]


def feed_all(decoder: Decoder, data: bytes, step: int | None = None) -> list[Window]:
    if step is None:
        return decoder.feed(data)
    out: list[Window] = []
    for i in range(0, len(data), step):
        out.extend(decoder.feed(data[i:i + step]))
    return out


# --- decoding ----------------------------------------------------------------------
def test_json_window_yields_documents_and_highest_sequence() -> None:
    windows = Decoder().feed(encode_window_of(docs(3)))
    assert len(windows) == 1
    w = windows[0]
    assert w.docs == docs(3)
    assert w.seqs == [1, 2, 3]
    assert w.highest_seq == 3
    assert w.size == 3 and not w.partial


@pytest.mark.parametrize("step", [1, 2, 5, 7, 64, 4096])
def test_chunking_does_not_change_the_result(step: int) -> None:
    stream = (encode_window_of(docs(5)) + encode_window_of(docs(4, 5), compress_level=6)
              + encode_window(2) + encode_data(1, {"line": "a"}) + encode_json(2, b'{"x":1}'))
    decoder = Decoder()
    windows = feed_all(decoder, stream, step)
    assert [w.docs for w in windows] == [docs(5), docs(4, 5), [{"line": "a"}, {"x": 1}]]
    assert decoder.idle


def test_compressed_frames_may_carry_part_of_a_window_or_several_windows() -> None:
    frames = [encode_json(i + 1, orjson.dumps(d)) for i, d in enumerate(docs(4))]
    # One window split over a compressed frame and a plain one.
    split = encode_window(4) + encode_compressed(b"".join(frames[:3])) + frames[3]
    # Two windows (window frames included) inside one compressed frame.
    both = encode_compressed(encode_window(2) + b"".join(frames[:2]) + encode_window(2) + b"".join(frames[2:]))
    assert [w.docs for w in Decoder().feed(split)] == [docs(4)]
    assert [w.docs for w in Decoder().feed(both)] == [docs(2), docs(2, 2)]


def test_cumulative_sequence_numbers_are_acked_by_their_highest_value() -> None:
    # pylogbeat keeps counting across windows instead of restarting at 1.
    windows = Decoder().feed(encode_window_of(docs(2), first_seq=101) + encode_window_of(docs(2), first_seq=103))
    assert [w.highest_seq for w in windows] == [102, 104]


def test_key_value_frames_arriving_in_pieces() -> None:
    fields = {"message": "hello wörld", "host": "web-1", "": "empty key"}
    stream = encode_window(1, version=0x31) + encode_data(7, fields, version=0x31)
    windows = feed_all(Decoder(), stream, 3)
    assert windows[0].docs == [fields]
    assert windows[0].seqs == [7]
    assert windows[0].version == 0x31


def test_payloads_that_are_not_json_objects_are_kept_as_bytes() -> None:
    stream = (encode_window(3) + encode_json(1, b"{not json") + encode_json(2, b"[1, 2]")
              + encode_json(3, b'{"ok": true}'))
    (window,) = Decoder().feed(stream)
    assert window.docs == [b"{not json", b"[1, 2]", {"ok": True}]


def test_zero_window_is_empty_and_the_connection_goes_on() -> None:
    decoder = Decoder()
    assert decoder.feed(encode_window(0)) == []
    assert decoder.empty_windows == 1
    assert decoder.idle
    (window,) = decoder.feed(encode_window_of(docs(1)))
    assert window.docs == docs(1)


def test_data_frame_outside_a_window_is_refused() -> None:
    with pytest.raises(ProtocolError, match="outside a window"):
        Decoder().feed(encode_window(0) + encode_json(1, b"{}"))
    with pytest.raises(ProtocolError, match="outside a window"):
        Decoder().feed(encode_data(1, {"a": "b"}))


def test_new_window_before_the_last_one_filled_submits_what_arrived() -> None:
    stream = encode_window(3) + encode_json(1, b'{"a":1}') + encode_json(2, b'{"a":2}') + encode_window_of(docs(1))
    first, second = Decoder().feed(stream)
    assert first.partial and first.docs == [{"a": 1}, {"a": 2}] and first.highest_seq == 2
    assert not second.partial and second.docs == docs(1)


def test_open_state_is_visible_for_the_connection_log() -> None:
    decoder = Decoder()
    decoder.feed(encode_window(2) + encode_json(1, b"{}") + b"2J\x00")
    assert decoder.window_open and decoder.buffered == 3 and not decoder.idle


# --- refusals ----------------------------------------------------------------------
@pytest.mark.parametrize("data, message", [
    (b"GET / HTTP/1.1\r\n\r\n", "bad version byte 0x47"),
    (b"2X\x00\x00\x00\x01", "unknown frame type 0x58"),
    (encode_ack(5), "client sent an ACK"),
    (encode_window(1) + b"1" + b"\x00", "unknown frame type 0x00"),
])
def test_garbage_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        Decoder().feed(data)


def test_protocol_error_is_a_decode_error() -> None:
    assert issubclass(ProtocolError, DecodeError)


@pytest.mark.parametrize("header", [
    b"2J" + struct.pack(">II", 1, 2**31),
    b"2C" + struct.pack(">I", 2**31),
    b"2D" + struct.pack(">II", 1, 2**30),
])
def test_frame_claiming_two_gigabytes_is_refused_from_its_header(header: bytes) -> None:
    decoder = Decoder()
    decoder.feed(encode_window(1))
    tracemalloc.start()
    try:
        with pytest.raises(ProtocolError, match="exceeds max_frame_bytes"):
            decoder.feed(header)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024


def test_key_value_frame_growing_past_the_limit_is_refused() -> None:
    limits = Limits(max_frame_bytes=1024)
    big = encode_window(1) + encode_data(1, {"k": "v" * 2000})
    with pytest.raises(ProtocolError, match="max_frame_bytes"):
        feed_all(Decoder(limits), big, 100)


def test_window_size_limit() -> None:
    with pytest.raises(ProtocolError, match="max_window_size"):
        Decoder(Limits(max_window_size=10)).feed(encode_window(11))


def test_window_bytes_limit() -> None:
    decoder = Decoder(Limits(max_window_bytes=1000))
    with pytest.raises(ProtocolError, match="max_window_bytes"):
        decoder.feed(encode_window(20) + b"".join(encode_json(i, b'{"m":"' + b"x" * 100 + b'"}') for i in range(20)))


def test_zip_bomb_is_refused_without_inflating_it() -> None:
    # A well-formed frame header announcing 8 MiB of JSON, then 8 MiB of spaces,
    # compressed to a few kilobytes: a server that inflates first and checks later
    # would hold all of it.
    inner = encode_json(1, b" " * (8 * 1024 * 1024))[:10] + b" " * (8 * 1024 * 1024)
    bomb = encode_window(1) + encode_compressed(inner, 9)
    assert len(bomb) < 20_000
    limits = Limits(max_frame_bytes=10 * 1024 * 1024, max_decompressed_bytes=1024 * 1024)
    tracemalloc.start()
    try:
        with pytest.raises(ProtocolError, match="max_decompressed_bytes"):
            Decoder(limits).feed(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * 1024 * 1024


@pytest.mark.parametrize("payload, message", [
    (b"\x00\x01\x02\x03not zlib", "not valid zlib"),
    (zlib.compress(encode_json(1, b"{}"))[:-6], "ends before its zlib stream"),
    (zlib.compress(encode_json(1, b'{"a":1}')[:-2]), "ends inside a frame"),
    (zlib.compress(encode_compressed(encode_json(1, b"{}"))), "compressed frame inside a compressed frame"),
])
def test_bad_compressed_frames(payload: bytes, message: str) -> None:
    frame = b"2C" + struct.pack(">I", len(payload)) + payload
    with pytest.raises(ProtocolError, match=message):
        Decoder().feed(encode_window(1) + frame)


# --- encoders ----------------------------------------------------------------------
def test_ack_frames_round_trip() -> None:
    assert encode_ack(258) == b"2A\x00\x00\x01\x02"
    seqs, rest = decode_acks(encode_ack(0) + encode_ack(7) + b"2A\x00")
    assert seqs == [0, 7] and rest == b"2A\x00"


# --- fuzzing -----------------------------------------------------------------------
FUZZ_LIMITS = Limits(max_frame_bytes=4096, max_decompressed_bytes=16384, max_window_size=64,
                     max_window_bytes=32768)


def _frames() -> st.SearchStrategy[bytes]:
    json_frame = st.builds(lambda s, p: encode_json(s, p), st.integers(0, 2**32 - 1),
                           st.binary(max_size=64) | st.just(b'{"a": 1}'))
    window = st.builds(encode_window, st.integers(0, 80))
    data = st.builds(lambda s, d: encode_data(s, d), st.integers(0, 2**32 - 1),
                     st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3))
    compressed = st.builds(lambda parts: encode_compressed(b"".join(parts)),
                           st.lists(json_frame | window, max_size=4))
    header = st.builds(lambda t, n: b"2" + t + struct.pack(">I", n),
                       st.sampled_from([b"J", b"C", b"D", b"W"]), st.integers(0, 2**32 - 1))
    return json_frame | window | data | compressed | header | st.binary(max_size=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(_frames(), max_size=12), cuts=st.lists(st.integers(1, 50), max_size=20),
       flip=st.one_of(st.none(), st.tuples(st.integers(0, 10_000), st.integers(1, 255))))
def test_decoder_fuzz_only_raises_protocol_errors_and_stays_bounded(
        parts: list[bytes], cuts: list[int], flip: tuple[int, int] | None) -> None:
    stream = bytearray(b"".join(parts))
    if flip is not None and stream:
        at, mask = flip
        stream[at % len(stream)] ^= mask
    decoder = Decoder(FUZZ_LIMITS)
    pos = 0
    chunks = []
    for cut in cuts:
        chunks.append(bytes(stream[pos:pos + cut]))
        pos += cut
    chunks.append(bytes(stream[pos:]))
    tracemalloc.start()
    try:
        for chunk in chunks:
            try:
                windows = decoder.feed(chunk)
            except ProtocolError:
                break
            for w in windows:
                assert 0 < len(w.docs) <= FUZZ_LIMITS.max_window_size
                assert len(w.docs) == len(w.seqs)
                assert w.nbytes <= FUZZ_LIMITS.max_window_bytes
            assert decoder.buffered <= FUZZ_LIMITS.max_frame_bytes + 64
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024


@settings(max_examples=100, deadline=None)
@given(windows=st.lists(st.tuples(st.integers(1, 20), st.sampled_from([0, 1, 9])), min_size=1, max_size=6),
       step=st.integers(1, 300))
def test_any_split_of_valid_windows_decodes_to_the_same_events(windows: list[tuple[int, int]], step: int) -> None:
    stream = b""
    expected = []
    n = 0
    for size, level in windows:
        stream += encode_window_of(docs(size, n), compress_level=level)
        expected.append(docs(size, n))
        n += size
    decoder = Decoder()
    assert [w.docs for w in feed_all(decoder, stream, step)] == expected
    assert decoder.idle
