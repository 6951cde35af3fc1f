"""Photos: decoding limits, metadata stripping, orientation, colour, derivatives, cache.

Every image is made at test time by imagemakers.py; every output is read back.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import statistics
import threading
import time
from pathlib import Path

import pytest
from PIL import Image, ImageFile, ImageOps, IptcImagePlugin

import imagemakers as make
from storywall import photos
from storywall.errors import SettingsError, StoryWallError
from storywall.photos import DerivativeCache, DerivativeSettings, PhotoError, PhotoJob, PhotoResult

SMALL = DerivativeSettings(widths=(16, 32, 480))
NAME = re.compile(r"^[a-z0-9_-]+-\d+-[0-9a-f]{10}\.(webp|jpg)$")
ALLOWED_INFO = {
    "jfif",
    "jfif_version",
    "jfif_unit",
    "jfif_density",
    "dpi",
    "progressive",
    "progression",
    "loop",
    "background",
    "timestamp",
    "duration",
}


def assert_no_metadata(path: Path) -> None:
    data = path.read_bytes()
    with Image.open(path) as img:
        img.load()
        assert img.mode == "RGB"
        assert not img.getexif(), f"{path.name} has EXIF"
        assert set(img.info) <= ALLOWED_INFO, f"{path.name} carries {set(img.info) - ALLOWED_INFO}"
        assert not getattr(img, "text", {})
        assert IptcImagePlugin.getiptcinfo(img) is None
        assert photos.metadata_found(img, data) == []
    for marker in (b"Exif\x00\x00", b"http://ns.adobe.com/xap", b"Photoshop 3.0", b"secret", b"SecretPhone"):
        assert marker not in data, f"{marker!r} survived in {path.name}"


def outputs(result: PhotoResult, out_dir: Path) -> list[Path]:
    return [out_dir / name for name in result.files()]


def make_set(
    src: Path, tmp_path: Path, settings: DerivativeSettings = SMALL, **kw
) -> tuple[PhotoResult, Path]:
    out = tmp_path / "out"
    return photos.make_derivatives(src, out, settings=settings, **kw), out


# --- metadata -----------------------------------------------------------------------


def test_gps_never_survives_in_any_derivative(tmp_path):
    src = make.jpeg_with_everything(tmp_path / "ana.jpg")
    assert "GPS" in photos.inspect_photo(src)
    result, out = make_set(src, tmp_path)
    assert len(result.variants) == 6  # widths 16, 32 and 480 collapsed to 64; × 2 formats
    for path in outputs(result, out):
        assert_no_metadata(path)


@pytest.mark.parametrize(
    "maker",
    [
        make.jpeg_with_everything,
        make.webp_with_metadata,
        make.png_with_text_chunks,
        make.heic,
        make.animated_gif,
    ],
    ids=lambda m: m.__name__,
)
def test_no_metadata_of_any_kind_survives(tmp_path, maker):
    src = maker(tmp_path / "in.bin")
    assert photos.inspect_photo(src), "the maker should have planted metadata"
    result, out = make_set(src, tmp_path)
    for path in outputs(result, out):
        assert_no_metadata(path)


def test_inspect_names_each_kind_of_metadata(tmp_path):
    src = make.jpeg_with_everything(tmp_path / "all.jpg")
    found = photos.inspect_photo(src)
    assert {"EXIF", "GPS", "XMP", "IPTC", "comment", "ICC profile"} <= set(found)
    assert "PNG text" in photos.inspect_photo(make.png_with_text_chunks(tmp_path / "t.png"))


def test_heic_gps_is_reported_then_stripped(tmp_path):
    src = make.heic(tmp_path / "phone.heic")
    assert {"EXIF", "GPS"} <= set(photos.inspect_photo(src))
    result, out = make_set(src, tmp_path)
    assert result.source_format == "HEIF"
    for path in outputs(result, out):
        assert_no_metadata(path)


# --- orientation ----------------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_all_eight_orientations_come_out_upright(tmp_path, orientation):
    src = make.oriented_jpeg(tmp_path / f"o{orientation}.jpg", orientation)
    result, out = make_set(src, tmp_path)
    assert (result.width, result.height) == (40, 20)
    with Image.open(src) as stored:
        pillow_upright = ImageOps.exif_transpose(stored)
    ours = make.quadrant_colours(photos.open_photo(src))
    assert all(make.close(ours[k], v) for k, v in make.quadrant_colours(pillow_upright).items())
    for path in outputs(result, out):
        with Image.open(path) as img:
            assert img.size in {(16, 8), (32, 16), (40, 20)}  # upright 2:1, never above 40 px
            if img.width < 32:
                continue  # too small for clean quadrant samples
            for where, colour in make.quadrant_colours(img).items():
                assert make.close(colour, make.QUADRANTS[where]), (where, colour)


def test_heic_orientation_is_not_applied_twice(tmp_path):
    upright = make.quadrants((40, 20))
    src = make.heic(tmp_path / "turned.heic", upright.transpose(make.STORE_AS[6]), orientation=6)
    img = photos.open_photo(src)
    assert img.size == (40, 20)
    for where, colour in make.quadrant_colours(img).items():
        assert make.close(colour, make.QUADRANTS[where]), (where, colour)


def test_camera_size_photo_is_scaled_down_upright_and_never_upscaled(tmp_path):
    src = make.camera_jpeg(tmp_path / "IMG_0001.JPG", (4000, 3000), orientation=6)
    result, out = make_set(src, tmp_path, settings=DerivativeSettings(widths=(480, 960, 1600, 4000)))
    assert (result.width, result.height) == (3000, 4000)
    sizes = sorted({(v.width, v.height) for v in result.variants})
    assert sizes == [(480, 640), (960, 1280), (1600, 2133), (3000, 4000)]
    for path in outputs(result, out):
        with Image.open(path) as img:
            assert img.width <= 3000
            for where, colour in make.quadrant_colours(img).items():
                assert make.close(colour, make.QUADRANTS[where]), (path.name, where, colour)
        assert_no_metadata(path)


def _decoded_size(src: Path, widths: tuple[int, ...]) -> tuple[tuple[int, int], str]:
    def target(size):
        return photos.derivative_sizes(size, widths)[0]

    decoded = photos._decode(src.read_bytes(), src.name, max_pixels=photos.MAX_PHOTO_PIXELS, target=target)
    return decoded.image.size, decoded.image.mode


@pytest.mark.parametrize(
    ("size", "orientation", "decoded"),
    [
        ((3000, 2000), 1, (1875, 1250)),  # 5/8: Pillow's draft could only decode it in full
        ((4000, 3000), 6, (1875, 2500)),  # a 12 MP phone portrait: 5/8, upright
        ((4000, 3000), 1, (2000, 1500)),  # 4/8
    ],
)
def test_jpeg_decodes_at_the_smallest_eighth_scale_covering_the_largest_derivative(
    tmp_path, size, orientation, decoded
):
    src = make.camera_jpeg(tmp_path / "IMG.JPG", size, orientation=orientation)
    assert _decoded_size(src, photos.DEFAULT_WIDTHS) == (decoded, "RGB")
    result, out = make_set(src, tmp_path, settings=DerivativeSettings())
    assert max(v.width for v in result.variants) == 1600
    for path in outputs(result, out):
        with Image.open(path) as img:
            for where, colour in make.quadrant_colours(img).items():
                assert make.close(colour, make.QUADRANTS[where]), (path.name, where, colour)


def test_greyscale_jpeg_is_shrunk_on_load_and_comes_out_grey_rgb(tmp_path):
    src = make.jpeg(tmp_path / "grey.jpg", Image.linear_gradient("L").resize((800, 600)))
    with Image.open(src) as img:
        shrunk = photos._shrink_on_load(src.read_bytes(), img, (480, 360))
    assert (shrunk.mode, shrunk.size) == ("L", (500, 375))
    assert _decoded_size(src, (480,)) == ((500, 375), "RGB")
    result, out = make_set(src, tmp_path, settings=DerivativeSettings(widths=(480,)))
    with Image.open(outputs(result, out)[0]) as img:
        assert img.mode == "RGB" and img.size == (480, 360)
        r, g, b = img.getpixel((240, 300))
        assert abs(r - g) <= 2 and abs(g - b) <= 2


def test_jpeg_that_libjpeg_turbo_warns_about_is_left_to_pillow(tmp_path):
    src = make.jpeg(tmp_path / "junk.jpg", make.quadrants((800, 600)))
    data = src.read_bytes()
    src.write_bytes(data[:-2] + b"\x00\x00" + data[-2:])  # stray bytes before EOI: a libjpeg warning
    with Image.open(src) as img:
        assert photos._shrink_on_load(src.read_bytes(), img, (480, 360)) is None
    assert _decoded_size(src, (480,)) == ((800, 600), "RGB")  # Pillow's draft: 1/2 would be too small
    result, out = make_set(src, tmp_path, settings=DerivativeSettings(widths=(480,)))
    assert [v.width for v in result.variants] == [480, 480]


def test_without_simplejpeg_pillow_makes_the_same_derivatives(tmp_path, monkeypatch):
    src = make.camera_jpeg(tmp_path / "IMG.JPG", (3000, 2000), orientation=1)
    turbo, _ = make_set(src, tmp_path / "turbo", settings=DerivativeSettings())
    monkeypatch.setattr(photos, "_turbo", lambda: None)
    assert _decoded_size(src, photos.DEFAULT_WIDTHS) == ((3000, 2000), "RGB")
    pillow, _ = make_set(src, tmp_path / "pillow", settings=DerivativeSettings())
    assert [(v.width, v.height, v.format) for v in turbo.variants] == [
        (v.width, v.height, v.format) for v in pillow.variants
    ]


# --- colour and modes -----------------------------------------------------------------------


def test_cmyk_jpeg_comes_out_rgb_with_the_right_colours(tmp_path):
    img = photos.open_photo(make.cmyk_jpeg(tmp_path / "print.jpg"))
    assert img.mode == "RGB"
    for where, colour in make.quadrant_colours(img).items():
        assert make.close(colour, make.QUADRANTS[where]), (where, colour)


def test_16_bit_png_is_scaled_not_clipped(tmp_path):
    img = photos.open_photo(make.png16(tmp_path / "deep.png"))
    left, right = img.getpixel((2, 4)), img.getpixel((30, 4))
    assert left == pytest.approx((64, 64, 64), abs=2)
    assert right == pytest.approx((192, 192, 192), abs=2)


def test_grey_alpha_png_is_composited_onto_white(tmp_path):
    img = photos.open_photo(make.la_png(tmp_path / "la.png"))
    assert img.mode == "RGB"
    assert img.getpixel((2, 10)) == (0, 0, 0) and img.getpixel((18, 10)) == (255, 255, 255)


def test_palette_png_transparency_becomes_white(tmp_path):
    img = photos.open_photo(make.palette_png_with_transparency(tmp_path / "p.png"))
    assert img.getpixel((2, 10)) == (0, 0, 255) and img.getpixel((18, 10)) == (255, 255, 255)


@pytest.mark.parametrize("maker", [make.animated_gif, make.animated_webp], ids=lambda m: m.__name__)
def test_animations_use_their_first_frame(tmp_path, maker):
    src = maker(tmp_path / "anim.bin")
    assert photos.open_photo(src).getpixel((10, 10)) == pytest.approx(make.RED, abs=8)
    result, out = make_set(src, tmp_path)
    for path in outputs(result, out):
        with Image.open(path) as img:
            assert getattr(img, "n_frames", 1) == 1
            assert img.getpixel((img.width // 2, img.height // 2)) == pytest.approx(make.RED, abs=12)


def _solid_jpeg(path: Path, icc: bytes | None, colour=(200, 50, 50)) -> Path:
    params = {"icc_profile": icc} if icc else {}
    return make.jpeg(path, Image.new("RGB", (32, 32), colour), quality=98, **params)


def test_wide_gamut_profile_is_converted_to_srgb(tmp_path):
    src = _solid_jpeg(tmp_path / "wide.jpg", make.adobe_rgb_icc())
    r, g, b = photos.open_photo(src).getpixel((16, 16))
    assert r >= 222 and g <= 52 and b <= 52  # LittleCMS: (200, 50, 50) in this gamut is (232, 46, 46) in sRGB
    result, out = make_set(src, tmp_path)
    with Image.open(out / result.variant("jpeg").filename) as img:
        assert "icc_profile" not in img.info
        assert img.getpixel((16, 16))[0] >= 222


def test_grey_stays_grey_through_a_wide_gamut_profile(tmp_path):
    src = _solid_jpeg(tmp_path / "grey.jpg", make.adobe_rgb_icc(), colour=(128, 128, 128))
    r, g, b = photos.open_photo(src).getpixel((16, 16))
    assert max(r, g, b) - min(r, g, b) <= 2 and abs(r - 128) <= 4


def test_srgb_profile_leaves_pixels_alone(tmp_path):
    src = _solid_jpeg(tmp_path / "srgb.jpg", make.srgb_icc())
    assert photos.open_photo(src).getpixel((16, 16)) == pytest.approx((200, 50, 50), abs=3)


def test_broken_icc_profile_falls_back_to_plain_rgb(tmp_path):
    src = _solid_jpeg(tmp_path / "broken.jpg", b"this is not an ICC profile at all" * 4)
    assert photos.open_photo(src).getpixel((16, 16)) == pytest.approx((200, 50, 50), abs=3)
    result, out = make_set(src, tmp_path)
    for path in outputs(result, out):
        assert_no_metadata(path)


# --- refusing bad files -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("maker", "code", "words"),
    [
        (lambda p: (p.write_bytes(b""), p)[1], "empty", "empty"),
        (make.text_as_jpg, "not-an-image", "looks like HTML/text"),
        (make.svg_as_png, "not-an-image", "SVG"),
        (make.truncated_jpeg, "truncated", "cut off"),
        (make.bmp, "unsupported-format", "BMP"),
        (lambda p: (p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40), p)[1], "corrupt", "damaged"),
    ],
    ids=["zero-byte", "html-as-jpg", "svg-as-png", "truncated-jpeg", "bmp", "broken-png"],
)
def test_bad_uploads_are_refused_with_a_code_and_a_fix(tmp_path, maker, code, words):
    src = maker(tmp_path / "x.jpg")
    for call in (
        photos.open_photo,
        photos.inspect_photo,
        lambda p, **kw: photos.make_derivatives(p, tmp_path, **kw),
    ):
        with pytest.raises(PhotoError) as caught:
            call(src, label="content/stories/ana/x.jpg")
        err = caught.value
        assert err.code == code and words in str(err)
        assert (
            str(err).startswith("content/stories/ana/x.jpg: ") and " — " in str(err) and "\n" not in str(err)
        )
        assert isinstance(err, StoryWallError)


def test_missing_photo_is_a_photo_error(tmp_path):
    with pytest.raises(PhotoError) as caught:
        photos.open_photo(tmp_path / "nope.jpg")
    assert caught.value.code == "missing"


def test_byte_limit_is_checked_before_decoding(tmp_path, monkeypatch):
    src = make.jpeg(tmp_path / "big.jpg")
    monkeypatch.setattr(Image, "open", lambda *a, **k: pytest.fail("decoded despite the byte limit"))
    with pytest.raises(PhotoError) as caught:
        photos.open_photo(src, max_bytes=100)
    assert caught.value.code == "too-large" and "limit" in str(caught.value)


@pytest.mark.parametrize("size", [(20000, 20000), (8000, 7000)])
def test_decompression_bomb_is_refused_from_its_header(tmp_path, monkeypatch, size):
    src = make.png_header_bomb(tmp_path / "bomb.png", *size)
    assert src.stat().st_size < 200
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("bomb pixels were decoded"))
    for call in (photos.open_photo, photos.inspect_photo):
        with pytest.raises(PhotoError) as caught:
            call(src)
        assert caught.value.code == "too-many-pixels"


def test_pixel_limit_is_a_keyword(tmp_path):
    with pytest.raises(PhotoError) as caught:
        photos.open_photo(make.jpeg(tmp_path / "q.jpg"), max_pixels=500)
    assert caught.value.code == "too-many-pixels" and "40×20" in str(caught.value)


def test_photo_error_survives_pickling():
    err = PhotoError("a.jpg", "truncated", "the file is cut off", "upload it again")
    back = pickle.loads(pickle.dumps(err))
    assert (str(back), back.code, back.label) == (str(err), "truncated", "a.jpg")


# --- derivatives -----------------------------------------------------------------------


def test_never_upscaled_and_widths_deduplicated(tmp_path):
    src = make.jpeg(tmp_path / "small.jpg")  # 40×20
    result, _ = make_set(src, tmp_path, settings=DerivativeSettings(widths=(10, 40, 480, 960, 1600)))
    assert sorted({(v.width, v.height) for v in result.variants}) == [(10, 5), (40, 20)]
    assert len(result.variants) == 4


def test_file_names_are_content_hashed_and_files_match(tmp_path):
    src = make.jpeg(tmp_path / "Ána's Photo.jpg", make.quadrants((64, 48)))
    result, out = make_set(src, tmp_path)
    assert result.stem == "ana-s-photo"
    for v in result.variants:
        assert NAME.match(v.filename), v.filename
        assert f"-{v.width}-{result.key}." in v.filename
        assert (out / v.filename).stat().st_size == v.bytes
        with Image.open(out / v.filename) as img:
            assert img.size == (v.width, v.height)
            assert img.format == {"webp": "WEBP", "jpeg": "JPEG"}[v.format]
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "temp files left behind"


def test_result_round_trips_through_json(tmp_path):
    result, _ = make_set(make.jpeg(tmp_path / "a.jpg"), tmp_path)
    assert PhotoResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result
    assert result.srcset("webp") == ", ".join(
        f"{result.variant('webp', w).filename} {w}w" for w in (16, 32, 40)
    )


def test_placeholder_has_average_colour_and_tiny_preview(tmp_path):
    result, _ = make_set(make.jpeg(tmp_path / "r.jpg", Image.new("RGB", (64, 32), (200, 30, 30))), tmp_path)
    colour = tuple(int(result.placeholder.color[i : i + 2], 16) for i in (1, 3, 5))
    assert re.fullmatch(r"#[0-9a-f]{6}", result.placeholder.color)
    assert colour == pytest.approx((200, 30, 30), abs=6)
    preview = result.placeholder.preview
    assert preview.startswith("data:image/webp;base64,") and len(preview) <= photos.PREVIEW_MAX_CHARS


def test_settings_are_validated():
    with pytest.raises(SettingsError):
        DerivativeSettings(widths=(0, 480))
    with pytest.raises(SettingsError):
        DerivativeSettings(formats=("gif",))
    assert DerivativeSettings(widths=(960, 480, 480), formats=("jpg",)).widths == (480, 960)
    for bad in (-1, 7, "4", 2.5, True):
        with pytest.raises(SettingsError, match="WebP methods"):
            DerivativeSettings(webp_method=bad)
        with pytest.raises(SettingsError, match="WebP methods"):
            DerivativeSettings(webp_method_small=bad)


# --- speed: threads, filters, progressive ------------------------------------------------


def _textured_jpeg(path: Path, size=(1200, 800)) -> Path:
    """Detail everywhere (so encoders and filters have something to differ on)."""
    img = make.quadrants(size)
    noise = Image.effect_noise(size, 40).convert("RGB")
    Image.blend(img, noise, 0.3).save(path, "JPEG", quality=90)
    return path


def _file_bytes(result: PhotoResult, out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in result.files()}


@pytest.mark.parametrize("progressive", [False, True])
def test_threaded_encoding_writes_the_same_bytes_as_one_thread(tmp_path, monkeypatch, progressive):
    src = _textured_jpeg(tmp_path / "t.jpg")
    settings = DerivativeSettings(widths=(200, 480, 1000), jpeg_progressive=progressive)
    made = {}
    for threads in (1, 4):
        monkeypatch.setattr(photos, "_photo_threads", threads)
        out = tmp_path / f"out{threads}"
        made[threads] = (photos.make_derivatives(src, out, settings=settings), out)
    (one, one_dir), (four, four_dir) = made[1], made[4]
    assert one == four
    assert _file_bytes(one, one_dir) == _file_bytes(four, four_dir)
    assert not [p for p in four_dir.iterdir() if p.name.startswith(".")], "temp files left behind"


def test_encodes_run_in_threads_when_there_are_cpus(tmp_path, monkeypatch):
    seen = []
    real = photos._save_pixels
    monkeypatch.setattr(photos, "_photo_threads", 2)
    monkeypatch.setattr(
        photos, "_save_pixels", lambda *a, **k: seen.append(threading.current_thread().name) or real(*a, **k)
    )
    result, _ = make_set(_textured_jpeg(tmp_path / "t.jpg"), tmp_path)
    assert len(seen) == len(result.variants) == 6
    assert all(name.startswith("storywall-photo") for name in seen)
    monkeypatch.setattr(photos, "_photo_threads", 1)
    seen.clear()
    make_set(_textured_jpeg(tmp_path / "u.jpg"), tmp_path)
    assert set(seen) == {threading.current_thread().name}


def test_a_failing_threaded_encode_raises_and_leaves_no_temp_files(tmp_path, monkeypatch):
    real = photos._save_pixels

    def disk_full(img, fmt, settings, fp, *rest):
        if fmt == "jpeg" and img.width == 32:
            raise OSError(28, "No space left on device")
        return real(img, fmt, settings, fp, *rest)

    monkeypatch.setattr(photos, "_photo_threads", 3)
    monkeypatch.setattr(photos, "_save_pixels", disk_full)
    out = tmp_path / "out"
    with pytest.raises(OSError, match="No space"):
        photos.make_derivatives(_textured_jpeg(tmp_path / "t.jpg", (64, 48)), out, settings=SMALL)
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_progressive_jpeg_setting_is_honoured(tmp_path):
    src = _textured_jpeg(tmp_path / "p.jpg")
    for progressive in (False, True):
        settings = DerivativeSettings(widths=(480,), jpeg_progressive=progressive)
        result, out = make_set(src, tmp_path / str(progressive), settings=settings)
        with Image.open(out / result.variant("jpeg").filename) as img:
            assert bool(img.info.get("progressive")) is progressive
    assert photos.JPEG_PROGRESSIVE is False  # the default: see scripts/bench_photos.py for the cost


def test_webp_method_small_applies_to_every_size_but_the_largest(tmp_path, monkeypatch):
    seen = []
    real = photos._save_pixels

    def spy(img, fmt, settings, fp, webp_method=None):
        seen.append((fmt, img.width, webp_method))
        return real(img, fmt, settings, fp, webp_method)

    monkeypatch.setattr(photos, "_save_pixels", spy)
    src = _textured_jpeg(tmp_path / "m.jpg")  # 1200 px wide
    settings = DerivativeSettings(widths=(200, 480, 1600), webp_method=1, webp_method_small=5)
    make_set(src, tmp_path / "a", settings=settings)
    webp = sorted((w, m) for fmt, w, m in seen if fmt == "webp")
    assert webp == [(200, 5), (480, 5), (1200, 1)]  # 1600 collapsed to the photo's width: the largest
    assert photos.WEBP_METHOD == 2 and DerivativeSettings().webp_method_small is None  # bench_photos.py
    seen.clear()
    make_set(src, tmp_path / "b", settings=DerivativeSettings(widths=(200, 1600), webp_method=4))
    assert sorted(m for fmt, _, m in seen if fmt == "webp") == [4, 4]  # None: the same method everywhere


def test_webp_method_changes_only_its_own_files_and_the_names(tmp_path):
    src = _textured_jpeg(tmp_path / "m.jpg")
    base = DerivativeSettings(widths=(200, 1000), formats=("webp",), webp_method_small=3)
    other = DerivativeSettings(widths=(200, 1000), formats=("webp",), webp_method_small=0)
    one, one_dir = make_set(src, tmp_path / "a", settings=base)
    two, two_dir = make_set(src, tmp_path / "b", settings=other)
    assert one.key != two.key  # the method is part of the settings hash
    for same in (DerivativeSettings(webp_method_small=2), DerivativeSettings(webp_method=5)):
        assert "webp_method_small" not in json.loads(same.token())  # one method: names as they were
    small = [(one_dir / one.variant("webp", 200).filename), (two_dir / two.variant("webp", 200).filename)]
    large = [(one_dir / one.variant("webp", 1000).filename), (two_dir / two.variant("webp", 1000).filename)]
    assert small[0].read_bytes() != small[1].read_bytes()
    assert large[0].read_bytes() == large[1].read_bytes()


def test_chained_steps_use_box_for_bilinear_and_the_same_filter_otherwise():
    img = Image.effect_noise((160, 120), 50).convert("RGB")
    size = (100, 75)
    box = img.resize(size, Image.Resampling.BOX)
    bilinear = img.resize(size, Image.Resampling.BILINEAR)
    assert photos._shrink(img, size, "bilinear", chained=True).tobytes() == box.tobytes()
    assert photos._shrink(img, size, "bilinear").tobytes() == bilinear.tobytes()
    lanczos = img.resize(size, Image.Resampling.LANCZOS)
    assert photos._shrink(img, size, "lanczos", chained=True).tobytes() == lanczos.tobytes()
    assert photos._shrink(img, (80, 60), "bilinear", chained=True).tobytes() == img.reduce(2).tobytes()


def test_pool_workers_get_their_thread_share(monkeypatch):
    calls = []
    monkeypatch.setattr(photos, "_photo_threads", 0)
    monkeypatch.setattr(photos, "_keep_freed_memory", lambda: calls.append(1))
    photos._worker_init(1)
    assert photos._threads_for(6) == 1 and calls == [1]
    monkeypatch.setattr(photos, "_photo_threads", 0)
    assert photos._threads_for(6) == min(6, os.cpu_count() or 1) and photos._threads_for(1) == 1


def test_process_many_submits_largest_first_and_answers_in_job_order(tmp_path, monkeypatch):
    sizes = [(40, 20), (200, 100), (90, 45)]
    srcs = [make.jpeg(tmp_path / f"s{i}.jpg", make.quadrants(size)) for i, size in enumerate(sizes)]
    cache_dir = str(tmp_path / "cache")
    jobs = [PhotoJob(str(s), cache_dir, settings=SMALL) for s in srcs]
    submitted = []

    class Recorder:  # a ProcessPoolExecutor that runs each job at once, in order of submission
        def __init__(self, *args, **kwargs):
            kwargs["initializer"](*kwargs["initargs"])

        def submit(self, fn, job):
            submitted.append(job.src)
            return photos._InlineExecutor().submit(fn, job)

        def shutdown(self, **kwargs):
            pass

    monkeypatch.setattr(photos, "ProcessPoolExecutor", Recorder)
    monkeypatch.setattr(photos, "_keep_freed_memory", lambda: None)
    results = photos.process_many(jobs, workers=2, progress=False)
    by_size = sorted(srcs, key=lambda s: s.stat().st_size, reverse=True)
    assert submitted == [str(s) for s in by_size]
    assert [(r.width, r.height) for r in results] == sizes


# --- intake -----------------------------------------------------------------------------


def test_sanitized_photo_is_a_clean_upright_capped_jpeg(tmp_path):
    src = make.camera_jpeg(tmp_path / "upload.jpg", (600, 300), orientation=8)
    facts = photos.sanitize_photo(src, tmp_path / "intake", name="ana-1.jpg", max_edge=200)
    out = Path(facts.path)
    assert out.name == "ana-1.jpg" and (facts.width, facts.height) == (100, 200)
    assert (
        facts.bytes == out.stat().st_size
        and facts.sha256 == photos.hashlib.sha256(out.read_bytes()).hexdigest()
    )
    assert photos.inspect_photo(out) == []
    assert_no_metadata(out)
    with Image.open(out) as img:
        for where, colour in make.quadrant_colours(img).items():
            assert make.close(colour, make.QUADRANTS[where]), (where, colour)
    assert [p.name for p in out.parent.iterdir()] == ["ana-1.jpg"]


def test_sanitize_refuses_bad_uploads_and_writes_nothing(tmp_path):
    with pytest.raises(PhotoError):
        photos.sanitize_photo(make.text_as_jpg(tmp_path / "x.jpg"), tmp_path / "intake")
    assert not (tmp_path / "intake").exists()


# --- cache ------------------------------------------------------------------------------


@pytest.fixture
def count_encodes(monkeypatch):
    calls = []
    real = photos._save_pixels
    monkeypatch.setattr(photos, "_save_pixels", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    return calls


def test_warm_cache_reencodes_nothing(tmp_path, count_encodes):
    cache = DerivativeCache(tmp_path / "cache")
    src = make.jpeg(tmp_path / "a.jpg")
    first = cache.get_or_make(src, settings=SMALL)
    made = len(count_encodes)
    mtimes = {n: cache.path(n).stat().st_mtime_ns for n in first.files()}
    assert cache.get_or_make(src, settings=SMALL) == first
    assert len(count_encodes) == made == 6
    assert {n: cache.path(n).stat().st_mtime_ns for n in first.files()} == mtimes


def test_warm_cache_lookup_is_fast(tmp_path):
    cache = DerivativeCache(tmp_path / "cache")
    src = make.jpeg(tmp_path / "a.jpg")
    cache.get_or_make(src)
    times = []
    for _ in range(20):
        start = time.perf_counter()
        cache.get_or_make(src)
        times.append(time.perf_counter() - start)
    assert statistics.median(times) < 0.005


def test_touched_but_unchanged_photo_is_not_reencoded(tmp_path, count_encodes):
    cache = DerivativeCache(tmp_path / "cache")
    src = make.jpeg(tmp_path / "a.jpg")
    first = cache.get_or_make(src, settings=SMALL)
    before = len(count_encodes)
    os.utime(src, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert cache.get_or_make(src, settings=SMALL) == first
    assert len(count_encodes) == before


def test_changed_photo_gets_new_file_names(tmp_path):
    cache = DerivativeCache(tmp_path / "cache")
    src = make.jpeg(tmp_path / "a.jpg")
    first = cache.get_or_make(src, settings=SMALL)
    make.jpeg(src, make.quadrants((40, 20)).transpose(Image.Transpose.ROTATE_180))
    second = cache.get_or_make(src, settings=SMALL)
    assert second.key != first.key and not set(first.files()) & set(second.files())


def test_changed_settings_get_new_file_names(tmp_path):
    cache = DerivativeCache(tmp_path / "cache")
    src = make.jpeg(tmp_path / "a.jpg")
    first = cache.get_or_make(src, settings=SMALL)
    wider = cache.get_or_make(src, settings=DerivativeSettings(widths=(20, 32, 480)))
    better = cache.get_or_make(src, settings=DerivativeSettings(widths=SMALL.widths, webp_quality=90))
    assert len({first.key, wider.key, better.key}) == 3


def test_deleted_cache_file_is_made_again(tmp_path, count_encodes):
    cache = DerivativeCache(tmp_path / "cache")
    src = make.jpeg(tmp_path / "a.jpg")
    first = cache.get_or_make(src, settings=SMALL)
    cache.path(first.files()[0]).unlink()
    assert cache.get_or_make(src, settings=SMALL) == first
    assert cache.path(first.files()[0]).exists()


def test_only_live_files_are_copied_and_stale_ones_pruned(tmp_path):
    cache = DerivativeCache(tmp_path / "cache")
    src = make.jpeg(tmp_path / "a.jpg")
    old = cache.get_or_make(src, settings=SMALL)
    new = cache.get_or_make(src, settings=DerivativeSettings(widths=(20,)))
    placed = cache.copy_to_output(new, tmp_path / "output" / "photos", link=True)
    assert sorted(p.name for p in (tmp_path / "output" / "photos").iterdir()) == sorted(new.files())
    assert [p.name for p in placed] == new.files()
    assert photos.live_files([new]) == set(new.files())
    removed = {p.name for p in cache.prune([new])}
    assert set(old.files()) <= removed
    assert (
        cache.lookup(src, settings=SMALL) is None
        and cache.lookup(src, settings=DerivativeSettings(widths=(20,))) == new
    )


# --- many photos ------------------------------------------------------------------------


def test_process_many_returns_results_and_named_errors_in_order(tmp_path, monkeypatch):
    good = [make.jpeg(tmp_path / f"g{i}.jpg", make.quadrants((40 + i, 20))) for i in range(2)]
    bad = make.text_as_jpg(tmp_path / "bad.jpg")
    cache_dir = str(tmp_path / "cache")
    jobs = [
        PhotoJob(str(good[0]), cache_dir, settings=SMALL),
        PhotoJob(str(bad), cache_dir, label="stories/bad.jpg"),
        PhotoJob(str(good[1]), cache_dir, settings=SMALL),
    ]
    first = photos.process_many(jobs, workers=2, progress=False)
    assert isinstance(first[0], PhotoResult) and isinstance(first[2], PhotoResult)
    assert isinstance(first[1], PhotoError) and first[1].code == "not-an-image"
    assert str(first[1]).startswith("stories/bad.jpg: ")
    assert (first[0].width, first[2].width) == (40, 41)
    monkeypatch.setattr(
        photos, "ProcessPoolExecutor", lambda *a, **k: pytest.fail("pool started for cache hits")
    )
    again = photos.process_many([jobs[0], jobs[2]], workers=2, progress=False)
    assert again == [first[0], first[2]]


def test_pillow_bomb_warning_follows_our_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow warns above 1000 px, refuses above 2000
    src = make.jpeg(tmp_path / "q.jpg", make.quadrants((60, 30)))  # 1800 px
    assert photos.open_photo(src, max_pixels=5000).size == (60, 30)  # our looser limit wins
    with pytest.raises(PhotoError) as caught:
        photos.open_photo(src, max_pixels=900)
    assert caught.value.code == "too-many-pixels"


def test_sanitize_name_must_be_a_plain_jpg_name(tmp_path):
    src = make.jpeg(tmp_path / "a.jpg")
    for bad in ("../escape.jpg", "sub/x.jpg", ".hidden.jpg", "x.png"):
        with pytest.raises(ValueError):
            photos.sanitize_photo(src, tmp_path / "intake", name=bad)
    assert Path(photos.sanitize_photo(src, tmp_path / "intake").path).name == "a.jpg"


def test_progress_bar_only_on_a_terminal_outside_ci(monkeypatch):
    class Tty:
        def isatty(self):
            return True

    monkeypatch.setattr(photos.sys, "stderr", Tty())
    monkeypatch.delenv("CI", raising=False)
    assert photos._interactive(True) and not photos._interactive(False)
    monkeypatch.setenv("CI", "true")
    assert not photos._interactive(True)
