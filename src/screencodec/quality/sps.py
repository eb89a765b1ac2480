"""Rewriting the SPS of a still so that one x264 encoder serves many sizes.

An x264 encoder has one picture size, and opening one costs about 1.5 ms, so
a still of every exact size would open an encoder almost every time (a
dragged window reveals strips whose sizes change by a pixel from frame to
frame). H.264 codes whole 16x16 macroblocks anyway and states the displayed
size in the SPS as *frame cropping* (ITU-T H.264 7.4.2.1.1): x264 itself
encodes a 250x250 picture as 256x256 with 6 columns and rows cropped. So the
stills are encoded by an encoder of the macroblock-aligned size, and this
module rewrites the cropping fields of the SPS in the access unit to the
exact size. The decoded picture then has exactly the op rect's size, as the
VIDEO op requires, and its coded size stays within the bound a viewer checks
before decoding (width rounded up to 64, height to 16).

Also dropped: the SEI x264 puts in the first picture of every encoder (its
version and settings, about 550 bytes), which a decoder ignores.

Only the SPS x264 writes for stills is handled (progressive frames, any
profile, with or without VUI); anything else raises ValueError.
"""

from __future__ import annotations

__all__ = ["crop_access_unit"]

_NAL_SEI, _NAL_SPS = 6, 7
_HIGH_PROFILES = {100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135}


def crop_access_unit(au: bytes, width: int, height: int, chroma420: bool) -> bytes:
    """``au`` (Annex B, from an encoder of the macroblock-aligned size) with its
    SPS cropped to ``width x height`` and its SEI NAL units left out."""
    out = []
    for nal in _split(au):
        kind = nal[0] & 0x1F
        if kind == _NAL_SEI:
            continue
        out.append(b"\x00\x00\x00\x01")
        out.append(_crop_sps(nal, width, height, chroma420) if kind == _NAL_SPS else nal)
    return b"".join(out)


def _split(au: bytes) -> list[bytes]:
    """The NAL units of an Annex B byte stream (start codes and the zero bytes
    before them removed)."""
    parts = au.split(b"\x00\x00\x01")
    nals = [p.rstrip(b"\x00") for p in parts[1:]]
    return [n for n in nals if n]


def _unescape(b: bytes) -> bytes:
    return b.replace(b"\x00\x00\x03", b"\x00\x00")


def _escape(b: bytes) -> bytes:
    out = bytearray()
    zeros = 0
    for byte in b:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


class _Bits:
    """Reads bits, most significant first, from a small byte string."""

    def __init__(self, data: bytes) -> None:
        self.value, self.size, self.pos = int.from_bytes(data, "big"), 8 * len(data), 0

    def u(self, n: int) -> int:
        if self.pos + n > self.size:
            raise ValueError("SPS: truncated")
        self.pos += n
        return (self.value >> (self.size - self.pos)) & ((1 << n) - 1)

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("SPS: bad exp-Golomb code")
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k & 1 else -(k // 2)


class _Writer:
    """Collects bits, most significant first."""

    def __init__(self) -> None:
        self.value, self.size = 0, 0

    def u(self, n: int, v: int) -> None:
        self.value = (self.value << n) | (v & ((1 << n) - 1))
        self.size += n

    def ue(self, v: int) -> None:
        v += 1
        n = v.bit_length()
        self.u(n - 1, 0)
        self.u(n, v)

    def rbsp(self) -> bytes:
        """The bits, the rbsp stop bit and zeros to a whole byte."""
        self.u(1, 1)
        pad = -self.size % 8
        return (self.value << pad).to_bytes((self.size + pad) // 8, "big")


def _crop_sps(nal: bytes, width: int, height: int, chroma420: bool) -> bytes:
    rbsp = _unescape(nal[1:])
    r = _Bits(rbsp)
    profile = r.u(8)
    r.u(16)  # constraint flags, level
    r.ue()  # seq_parameter_set_id
    if profile in _HIGH_PROFILES:
        if r.ue() == 3:  # chroma_format_idc
            r.u(1)  # separate_colour_plane_flag
        r.ue()  # bit_depth_luma_minus8
        r.ue()  # bit_depth_chroma_minus8
        r.u(1)  # qpprime_y_zero_transform_bypass_flag
        if r.u(1):
            raise ValueError("SPS: scaling matrices are not expected in a still")
    r.ue()  # log2_max_frame_num_minus4
    poc = r.ue()
    if poc == 0:
        r.ue()
    elif poc == 1:
        r.u(1)
        r.se()
        r.se()
        for _ in range(r.ue()):
            r.se()
    r.ue()  # max_num_ref_frames
    r.u(1)  # gaps_in_frame_num_value_allowed_flag
    mbs_w = r.ue() + 1
    mbs_h = r.ue() + 1
    if not r.u(1):
        raise ValueError("SPS: interlaced pictures are not expected in a still")
    r.u(1)  # direct_8x8_inference_flag
    head_end = r.pos
    if r.u(1):  # frame_cropping_flag
        for _ in range(4):
            r.ue()
    tail_start = r.pos
    # The rest (VUI) up to the rbsp stop bit is copied as it is.
    trailing = (r.value & -r.value).bit_length() - 1  # zeros after the stop bit
    last = r.size - 1 - trailing
    unit = 2 if chroma420 else 1
    right, bottom = 16 * mbs_w - width, 16 * mbs_h - height
    if right < 0 or bottom < 0 or right >= 16 or bottom >= 16 or right % unit or bottom % unit:
        raise ValueError(f"SPS: a {width}x{height} picture in {mbs_w}x{mbs_h} macroblocks")
    w = _Writer()
    r.pos = 0
    w.u(head_end, r.u(head_end))
    w.u(1, 1 if right or bottom else 0)
    if right or bottom:
        for v in (0, right // unit, 0, bottom // unit):
            w.ue(v)
    r.pos = tail_start
    w.u(last - tail_start, r.u(last - tail_start))
    return nal[:1] + _escape(w.rbsp())
