"""Textbook edwards25519 arithmetic (RFC 8032 section 5.1), slow and clear, for crafting
the edge-case signatures that Ed25519 libraries disagree on. Test code only."""

from __future__ import annotations

import hashlib
from typing import NamedTuple

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


class Point(NamedTuple):
    """Extended homogeneous coordinates: x = X/Z, y = Y/Z, x*y = T/Z."""

    X: int
    Y: int
    Z: int
    T: int


IDENTITY = Point(0, 1, 1, 0)


def add(a: Point, b: Point) -> Point:
    e1 = (a.Y - a.X) * (b.Y - b.X) % P
    e2 = (a.Y + a.X) * (b.Y + b.X) % P
    c = 2 * D * a.T * b.T % P
    d = 2 * a.Z * b.Z % P
    e, f, g, h = e2 - e1, d - c, d + c, e2 + e1
    return Point(e * f % P, g * h % P, f * g % P, e * h % P)


def negate(a: Point) -> Point:
    return Point(-a.X % P, a.Y, a.Z, -a.T % P)


def multiply(scalar: int, point: Point) -> Point:
    result = IDENTITY
    while scalar:
        if scalar & 1:
            result = add(result, point)
        point = add(point, point)
        scalar >>= 1
    return result


def decode(encoding: bytes) -> Point | None:
    """The point with this encoding (non-canonical y accepted, as some libraries do)."""
    value = int.from_bytes(encoding, "little")
    y = (value & (2**255 - 1)) % P
    sign = value >> 255
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    if v * x * x % P == -u % P:
        x = x * SQRT_M1 % P
    elif v * x * x % P != u:
        return None
    if x & 1 != sign:
        x = -x % P
    return Point(x, y, 1, x * y % P)


def encode(point: Point) -> bytes:
    inverse = pow(point.Z, P - 2, P)
    x, y = point.X * inverse % P, point.Y * inverse % P
    return (y | (x & 1) << 255).to_bytes(32, "little")


BASE = decode((4 * pow(5, P - 2, P) % P).to_bytes(32, "little"))
assert BASE is not None


def torsion_points() -> list[Point]:
    """The eight points of order dividing 8: [L]Q for points Q until all eight appear."""
    found: dict[bytes, Point] = {}
    y = 2
    while len(found) < 8:
        candidate = decode(y.to_bytes(32, "little"))
        y += 1
        if candidate is not None:
            torsion = multiply(L, candidate)
            found[encode(torsion)] = torsion
    return list(found.values())


def secret_scalar(seed: bytes) -> int:
    """The clamped scalar a of an RFC 8032 private key (A = [a]B)."""
    digest = bytearray(hashlib.sha512(seed).digest()[:32])
    digest[0] &= 248
    digest[31] &= 127
    digest[31] |= 64
    return int.from_bytes(digest, "little")


def sign_with_nonce_point(seed: bytes, r_encoding: bytes, nonce: int, message: bytes) -> bytes:
    """A signature whose R is `r_encoding` (any spelling) and whose S = nonce + k*a, so
    [S]B - [k]A = [nonce]B: it satisfies the cofactorless equation exactly when R is the
    canonical encoding of [nonce]B."""
    a = secret_scalar(seed)
    public = encode(multiply(a, BASE))
    k = int.from_bytes(hashlib.sha512(r_encoding + public + message).digest(), "little") % L
    s = (nonce + k * a) % L
    return r_encoding + s.to_bytes(32, "little")
