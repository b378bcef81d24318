"""Verification codes and their QR codes, drawn as inline SVG (nothing to fetch)."""

from __future__ import annotations

import base64
import ipaddress
import secrets
from urllib.parse import urlsplit

import qrcode
import qrcode.constants
from markupsafe import Markup

# Crockford's base32 alphabet: no I, L, O, U (nothing to misread when typed from paper).
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_STD = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_TABLE = str.maketrans(_STD, _ALPHABET[10:] + _ALPHABET[:10])


def new_code() -> str:
    """A fresh verification code: 80 random bits as ``XXXX-XXXX-XXXX-XXXX``."""
    raw = base64.b32encode(secrets.token_bytes(10)).decode().translate(_TABLE)
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def normalise_code(text: str) -> str:
    """A code as typed (lower case, spaces, O for 0, I/L for 1) in its canonical form."""
    raw = "".join(ch for ch in text.upper() if ch.isalnum())
    raw = raw.replace("O", "0").replace("I", "1").replace("L", "1")
    return "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def verify_url(base_url: str, code: str) -> str:
    """The address a printed code leads to: ``<base>/verify/<code>``."""
    return f"{base_url.rstrip('/')}/verify/{code}"


def _loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in ("localhost", "") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def localhost_warning(public_url: str, listen_host: str, port: int | None = None) -> str | None:
    """A warning when printed documents would carry a verification address on this machine
    (``public_url`` at localhost) while the server listens for other machines (``listen_host``
    is not a loopback address, e.g. ``0.0.0.0``): every QR code printed would lead nowhere. None
    when the address is public, or when the server only listens locally (a trial)."""
    host = urlsplit(public_url).hostname or ""
    if not _loopback(host) or _loopback(listen_host):
        return None
    where = f"{listen_host}:{port}" if port else listen_host
    return ("=" * 78 + "\n"
            f"WARNING: documents will print the verification address {public_url} in their QR\n"
            f"codes, but this server listens on {where} for other machines. Nobody who scans\n"
            "a printed code will reach it. Set MEDIATION_PUBLIC_URL to the address people use,\n"
            "e.g. MEDIATION_PUBLIC_URL=https://tiaojie.example.gov.cn, and restart.\n"
            + "=" * 78)


def qr_matrix(data: str) -> list[list[bool]]:
    """The modules of a QR code for ``data`` (error correction M, with its quiet zone)."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    qr.add_data(data)
    qr.make(fit=True)
    return [list(row) for row in qr.get_matrix()]


def qr_svg(data: str, size: str = "20mm") -> Markup:
    """An inline ``<svg>`` QR code for ``data``: one path of horizontal runs, deterministic."""
    matrix = qr_matrix(data)
    n = len(matrix)
    parts = []
    for y, row in enumerate(matrix):
        x = 0
        while x < n:
            if row[x]:
                start = x
                while x < n and row[x]:
                    x += 1
                parts.append(f"M{start} {y}h{x - start}v1h{start - x}z")
            else:
                x += 1
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="qr" width="{size}" height="{size}" '
        f'viewBox="0 0 {n} {n}" shape-rendering="crispEdges">'
        f'<rect width="{n}" height="{n}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(parts)}"/></svg>')


def qr_img(data: str, size: str = "17mm") -> Markup:
    """An ``<img>`` of a PNG QR code as a ``data:`` URL: decoded and embedded once however many
    pages repeat it (an inline SVG is re-drawn on every page, which costs 60 ms a page)."""
    b64 = base64.b64encode(qr_png(data, box_size=4)).decode()
    return Markup(f'<img class="qr" alt="" src="data:image/png;base64,{b64}" '
                  f'style="width:{size};height:{size}">')


def qr_png(data: str, box_size: int = 8) -> bytes:
    """A PNG QR code for ``data`` (for web pages and downloads)."""
    import io

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2,
                       box_size=box_size)
    qr.add_data(data)
    qr.make(fit=True)
    out = io.BytesIO()
    qr.make_image().save(out, format="PNG")
    return out.getvalue()
