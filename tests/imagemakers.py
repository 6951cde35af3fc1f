"""Make test images at test time (no binaries in the repository).

Every maker writes one file and returns its path. The images are small unless
the name says otherwise, so the photo tests stay fast.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

from PIL import ExifTags, Image, ImageCms, PngImagePlugin

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)
QUADRANTS = {"top-left": RED, "top-right": GREEN, "bottom-left": BLUE, "bottom-right": WHITE}

# The operation that turns the upright picture into what a camera stores with
# EXIF orientation N (the inverse of what a viewer applies to show it).
STORE_AS = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}

XMP = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="SecretPhone"/>'
    b'</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)
GPS_LATITUDE = (51.0, 30.0, 26.0)


# --- pixels -------------------------------------------------------------------


def quadrants(size: tuple[int, int] = (40, 20)) -> Image.Image:
    """Upright test card: red top-left, green top-right, blue bottom-left, white bottom-right."""
    w, h = size
    img = Image.new("RGB", size, WHITE)
    img.paste(RED, (0, 0, w // 2, h // 2))
    img.paste(GREEN, (w // 2, 0, w, h // 2))
    img.paste(BLUE, (0, h // 2, w // 2, h))
    return img


def quadrant_colours(img: Image.Image) -> dict[str, tuple[int, int, int]]:
    """The colour at the centre of each quadrant of an RGB image."""
    w, h = img.size
    img = img.convert("RGB")
    points = {
        "top-left": (w // 4, h // 4),
        "top-right": (3 * w // 4, h // 4),
        "bottom-left": (w // 4, 3 * h // 4),
        "bottom-right": (3 * w // 4, 3 * h // 4),
    }
    return {name: img.getpixel(xy) for name, xy in points.items()}


def close(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


# --- metadata -------------------------------------------------------------------


def exif_bytes(orientation: int | None = None, gps: bool = True) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SecretPhone"
    exif[ExifTags.Base.Model] = "Model X"
    exif[ExifTags.Base.DateTime] = "2024:05:07 09:33:04"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    if gps:
        ifd = exif.get_ifd(ExifTags.IFD.GPSInfo)
        ifd[ExifTags.GPS.GPSLatitudeRef], ifd[ExifTags.GPS.GPSLatitude] = "N", GPS_LATITUDE
        ifd[ExifTags.GPS.GPSLongitudeRef], ifd[ExifTags.GPS.GPSLongitude] = "W", (0.0, 7.0, 39.0)
    return exif.tobytes()


def iptc_segment(keyword: bytes = b"secret-place") -> bytes:
    """A JPEG APP13 'Photoshop 3.0' segment holding one IPTC keyword."""
    iptc = b"\x1c\x02\x19" + struct.pack(">H", len(keyword)) + keyword
    if len(iptc) % 2:
        iptc += b"\x00"
    resource = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(iptc)) + iptc
    payload = b"Photoshop 3.0\x00" + resource
    return b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload


def insert_after_soi(jpeg: bytes, segment: bytes) -> bytes:
    assert jpeg[:2] == b"\xff\xd8"
    return jpeg[:2] + segment + jpeg[2:]


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \x00\x00\x00\x00" + _s15(x) + _s15(y) + _s15(z)


def _desc(text: str) -> bytes:
    ascii_ = text.encode() + b"\x00"
    return b"desc\x00\x00\x00\x00" + struct.pack(">I", len(ascii_)) + ascii_ + b"\x00" * (4 + 4 + 2 + 1 + 67)


def matrix_icc(description: str, red, green, blue, gamma: float = 563 / 256) -> bytes:
    """A minimal ICC v2 RGB matrix/TRC display profile (D50 PCS)."""
    curve = b"curv\x00\x00\x00\x00" + struct.pack(">IH", 1, round(gamma * 256)) + b"\x00\x00"
    tags = [
        (b"desc", _desc(description)),
        (b"cprt", b"text\x00\x00\x00\x00test\x00"),
        (b"wtpt", _xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", _xyz(*red)),
        (b"gXYZ", _xyz(*green)),
        (b"bXYZ", _xyz(*blue)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset, table, data = 128 + 4 + 12 * len(tags), b"", b""
    for sig, body in tags:
        body += b"\x00" * (-len(body) % 4)
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (
        struct.pack(">I", size)
        + b"lcms"
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + struct.pack(">6H", 2024, 1, 1, 0, 0, 0)
        + b"acsp"
        + b"\x00" * 24
        + struct.pack(">I", 0)
        + _s15(0.9642)
        + _s15(1.0)
        + _s15(0.8249)
        + b"\x00" * 48
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


def adobe_rgb_icc() -> bytes:
    """A wide-gamut profile with Adobe RGB (1998) primaries (D50-adapted)."""
    return matrix_icc(
        "Wide gamut test RGB", (0.6097, 0.3111, 0.0195), (0.2053, 0.6257, 0.0609), (0.1492, 0.0632, 0.7446)
    )


def srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


# --- files ----------------------------------------------------------------------


def jpeg(path: Path, img: Image.Image | None = None, **params) -> Path:
    (img or quadrants()).save(path, "JPEG", quality=params.pop("quality", 95), **params)
    return path


def oriented_jpeg(path: Path, orientation: int, size: tuple[int, int] = (40, 20)) -> Path:
    """The quadrant card stored as a camera would with EXIF orientation N."""
    upright = quadrants(size)
    stored = upright.transpose(STORE_AS[orientation]) if STORE_AS[orientation] is not None else upright
    return jpeg(path, stored, exif=exif_bytes(orientation, gps=False))


def jpeg_with_everything(path: Path, size: tuple[int, int] = (64, 48), icc: bytes | None = None) -> Path:
    """EXIF + GPS + XMP + IPTC + JPEG comment + ICC profile."""
    buf = io.BytesIO()
    quadrants(size).save(
        buf,
        "JPEG",
        quality=95,
        exif=exif_bytes(),
        xmp=XMP,
        comment=b"secret comment",
        icc_profile=icc or adobe_rgb_icc(),
    )
    path.write_bytes(insert_after_soi(buf.getvalue(), iptc_segment()))
    return path


def heic(
    path: Path, img: Image.Image | None = None, orientation: int | None = None, gps: bool = True
) -> Path:
    import pillow_heif

    pillow_heif.register_heif_opener()
    (img or quadrants()).save(path, "HEIF", quality=90, exif=exif_bytes(orientation, gps=gps))
    return path


def cmyk_jpeg(path: Path) -> Path:
    """CMYK quadrants (Pillow writes Adobe's inverted CMYK with an APP14 marker)."""
    img = quadrants().convert("CMYK")
    img.save(path, "JPEG", quality=95)
    return path


def png16(path: Path, size: tuple[int, int] = (32, 8)) -> Path:
    """16-bit greyscale: a left half at 25% and a right half at 75% of 65535."""
    w, h = size
    row = struct.pack(f"<{w}H", *(16384 if x < w // 2 else 49152 for x in range(w)))
    Image.frombytes("I;16", size, row * h).save(path, "PNG")
    return path


def la_png(path: Path, size: tuple[int, int] = (20, 20)) -> Path:
    """Greyscale + alpha: a black square, left half opaque, right half transparent."""
    img = Image.new("LA", size, (0, 255))
    img.paste((0, 0), (size[0] // 2, 0, size[0], size[1]))
    img.save(path, "PNG")
    return path


def palette_png_with_transparency(path: Path, size: tuple[int, int] = (20, 20)) -> Path:
    """Palette image, index 0 transparent (tRNS), index 1 blue on the left half."""
    img = Image.new("P", size, 0)
    img.putpalette([0, 0, 0, 0, 0, 255] + [0] * (254 * 3))
    img.paste(1, (0, 0, size[0] // 2, size[1]))
    img.save(path, "PNG", transparency=0)
    return path


def animated_gif(path: Path, size: tuple[int, int] = (20, 20)) -> Path:
    frames = [Image.new("RGB", size, c) for c in (RED, BLUE, GREEN)]
    frames[0].save(
        path, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0, comment=b"gif comment"
    )
    return path


def animated_webp(path: Path, size: tuple[int, int] = (20, 20)) -> Path:
    frames = [Image.new("RGB", size, c) for c in (RED, BLUE)]
    frames[0].save(path, "WEBP", save_all=True, append_images=frames[1:], duration=100, lossless=True)
    return path


def webp_with_metadata(path: Path) -> Path:
    quadrants().save(path, "WEBP", quality=90, exif=exif_bytes(), xmp=XMP, icc_profile=adobe_rgb_icc())
    return path


def png_with_text_chunks(path: Path) -> Path:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret tEXt")
    info.add_text("Location", "secret zTXt", zip=True)
    info.add_itxt("Description", "secret iTXt", lang="en", tkey="Description")
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    quadrants().save(path, "PNG", pnginfo=info, exif=exif_bytes())
    return path


def truncated_jpeg(path: Path, keep: float = 0.6) -> Path:
    buf = io.BytesIO()
    Image.effect_noise((64, 64), 40).convert("RGB").save(buf, "JPEG", quality=90)
    data = buf.getvalue()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def text_as_jpg(path: Path) -> Path:
    path.write_text("<!DOCTYPE html>\n<html><body>Sorry, this link has expired.</body></html>\n")
    return path


def svg_as_png(path: Path) -> Path:
    path.write_text(
        '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
        '<rect width="10" height="10"/></svg>\n'
    )
    return path


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header_bomb(path: Path, width: int = 20000, height: int = 20000) -> Path:
    """A tiny PNG whose header claims width×height pixels (its data would not even fill a row)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )
    path.write_bytes(data)
    return path


def bmp(path: Path) -> Path:
    quadrants().save(path, "BMP")
    return path


def camera_jpeg(path: Path, size: tuple[int, int] = (4000, 3000), orientation: int = 6) -> Path:
    """Camera-size quadrant card stored with an orientation, EXIF and GPS."""
    stored = quadrants((size[1], size[0]) if orientation in (5, 6, 7, 8) else size)
    stored = stored.transpose(STORE_AS[orientation]) if STORE_AS[orientation] is not None else stored
    stored.save(path, "JPEG", quality=85, exif=exif_bytes(orientation))
    return path
