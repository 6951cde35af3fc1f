"""Share cards: size and format, caching by content hash, text that always fits,
non-ASCII text, photos of every shape. Test photos are made with Pillow here."""

from __future__ import annotations

import dataclasses
import re
from importlib import resources
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from storywall import sharecards
from storywall.sharecards import (
    CARD_HEIGHT,
    CARD_WIDTH,
    DEFAULT_THEME,
    CardText,
    CardTheme,
    ShareCardError,
    clean_text,
    contrast_ratio,
    layout_quote,
    make_share_card,
)

CARD = CardText(
    quote="Water changes everything.",
    author="Amara O.",
    initiative="Clean water for Nyarusiza",
    figure="450 children have safe water · as of October 2026",
    site_name="Riverside Community Trust",
)
SENTENCE = (
    "I started giving every month after I visited the school and saw the queue at the old pump. "
)
QUOTE_200 = (SENTENCE * 3)[:200].rstrip()
QUOTE_1000 = (SENTENCE * 12)[:1000].rstrip()
UNBREAKABLE = "Supercalifragilisticexpialidocious" * 2 + "Antidisestab"  # one 80-char word
NON_ASCII = "“Když jsem viděla děti u nové studny — ø, ł, ğ, ș, ő — věděla jsem, že to má smysl” 💧🙏🏽"
BOX = (600, 300)


def photo(size: tuple[int, int], color=(200, 30, 30), mode: str = "RGB") -> Image.Image:
    image = Image.new(mode, size, color)
    width, height = size
    ImageDraw.Draw(image).ellipse((width // 4, height // 4, width // 2, height // 2), fill="white")
    return image


def open_card(out_dir: Path, filename: str) -> Image.Image:
    image = Image.open(out_dir / filename)
    image.load()
    return image


# --- the file ----------------------------------------------------------------


def test_card_is_a_1200x630_progressive_jpeg_without_metadata(tmp_path):
    card = make_share_card(tmp_path, CARD, photo((1600, 900)))

    assert re.fullmatch(r"card-[0-9a-f]{12}\.jpg", card.filename)
    assert (card.width, card.height) == (CARD_WIDTH, CARD_HEIGHT) == (1200, 630)
    path = tmp_path / card.filename
    assert card.bytes == path.stat().st_size
    assert card.bytes < 150_000
    assert path.stat().st_mode & 0o777 == 0o644
    image = open_card(tmp_path, card.filename)
    assert image.format == "JPEG" and image.mode == "RGB" and image.size == (1200, 630)
    assert image.info.get("progressive") or image.info.get("progression")
    assert not image.getexif()
    for key in ("exif", "icc_profile", "xmp", "comment"):
        assert key not in image.info
    data = path.read_bytes()
    assert b"Exif\x00" not in data and b"xmpmeta" not in data
    assert [p.name for p in tmp_path.iterdir()] == [card.filename]  # no temporary file left


def test_a_card_without_photo_and_figure_is_fine(tmp_path):
    card = make_share_card(tmp_path, dataclasses.replace(CARD, figure=""))
    assert open_card(tmp_path, card.filename).size == (1200, 630)


def test_a_card_with_every_text_empty_does_not_crash(tmp_path):
    card = make_share_card(tmp_path, CardText("", "", "", "", ""))
    assert open_card(tmp_path, card.filename).size == (1200, 630)


def test_out_dir_is_created(tmp_path):
    card = make_share_card(tmp_path / "a" / "b", CARD)
    assert (tmp_path / "a" / "b" / card.filename).is_file()


def test_a_failed_write_leaves_no_file_behind(tmp_path, monkeypatch):
    def broken_save(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        make_share_card(tmp_path, CARD)
    assert list(tmp_path.iterdir()) == []


# --- content hash and cache --------------------------------------------------


def test_same_inputs_give_the_same_file_and_no_second_render(tmp_path, monkeypatch):
    renders = []
    real_render = sharecards._render
    monkeypatch.setattr(sharecards, "_render", lambda *a: renders.append(1) or real_render(*a))
    source = tmp_path / "photo.png"
    photo((800, 600)).save(source)
    out = tmp_path / "cards"

    first = make_share_card(out, CARD, source)
    mtime = (out / first.filename).stat().st_mtime_ns
    second = make_share_card(out, dataclasses.replace(CARD), Path(str(source)))

    assert second == first
    assert len(renders) == 1
    assert (out / first.filename).stat().st_mtime_ns == mtime


def test_an_in_memory_photo_is_hashed_by_its_pixels(tmp_path):
    a = make_share_card(tmp_path, CARD, photo((300, 300)))
    b = make_share_card(tmp_path, CARD, photo((300, 300)))
    c = make_share_card(tmp_path, CARD, photo((300, 300), color=(30, 30, 200)))
    assert a.filename == b.filename != c.filename


def test_any_changed_input_gives_a_different_filename(tmp_path):
    first = tmp_path / "a.png"
    second = tmp_path / "b.png"
    photo((400, 300)).save(first)
    photo((400, 300), color=(0, 120, 0)).save(second)
    variants = [
        (CARD, None, DEFAULT_THEME),
        (CARD, first, DEFAULT_THEME),
        (CARD, second, DEFAULT_THEME),
        (CARD, None, dataclasses.replace(DEFAULT_THEME, accent="#ffd27a")),
    ]
    for field in dataclasses.fields(CardText):
        changed = dataclasses.replace(CARD, **{field.name: getattr(CARD, field.name) + "!"})
        variants.append((changed, None, DEFAULT_THEME))
    names = [sharecards.card_filename(card, image, theme) for card, image, theme in variants]
    assert len(set(names)) == len(names)


def test_the_layout_version_is_part_of_the_hash(monkeypatch):
    before = sharecards.card_filename(CARD)
    monkeypatch.setattr(sharecards, "LAYOUT_VERSION", sharecards.LAYOUT_VERSION + 1)
    assert sharecards.card_filename(CARD) != before


# --- quote layout --------------------------------------------------------------


def ink_box(layout) -> tuple[int, int, int, int] | None:
    """Draw the layout's lines on a canvas with a wide margin and return where ink
    landed, in box coordinates: an independent check of the measured boxes."""
    pad = 200
    canvas = Image.new("L", (BOX[0] + 2 * pad, BOX[1] + 2 * pad), 0)
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.truetype(str(sharecards.font_path(layout.face)), layout.font_size)
    for line, (x, y) in zip(layout.lines, layout.positions):
        draw.text((pad + x, pad + y), line, font=font, fill=255, anchor="la")
    box = canvas.getbbox()
    return None if box is None else (box[0] - pad, box[1] - pad, box[2] - pad, box[3] - pad)


@pytest.mark.parametrize(
    "text",
    [
        CARD.quote,
        QUOTE_200,
        QUOTE_1000,
        UNBREAKABLE,
        NON_ASCII,
        "https://example.org/" + "a" * 150,
        "—" * 90,
        "ẤỖǺ Ấn tượng sâu sắc ẤỖǺ " * 4,
        "W" * 400,
    ],
    ids=[
        "short", "200-chars", "1000-chars", "80-char-word", "non-ascii",
        "long-url", "dashes", "stacked-accents", "wide",
    ],
)
def test_every_quote_line_stays_inside_the_text_box(text):
    layout = layout_quote(text, *BOX)

    assert layout.lines
    assert sharecards.QUOTE_MIN_SIZE <= layout.font_size <= sharecards.QUOTE_MAX_SIZE
    for left, top, right, bottom in layout.line_boxes:
        assert 0 <= left and right <= BOX[0]
        assert 0 <= top and bottom <= BOX[1]
    assert layout.height <= BOX[1]
    left, top, right, bottom = ink_box(layout)
    assert left >= 0 and top >= 0 and right <= BOX[0] and bottom <= BOX[1]


def test_long_quotes_get_a_smaller_font_than_short_ones():
    short, medium, long = (layout_quote(t, *BOX) for t in (CARD.quote, QUOTE_200, QUOTE_1000))
    assert short.font_size == sharecards.QUOTE_MAX_SIZE
    assert short.font_size > medium.font_size >= long.font_size == sharecards.QUOTE_MIN_SIZE
    assert not short.truncated and not medium.truncated


def test_a_quote_too_long_at_the_minimum_size_is_cut_on_a_word_with_an_ellipsis():
    layout = layout_quote(QUOTE_1000, *BOX)
    assert layout.truncated
    assert layout.lines[-1].endswith("…")
    shown = " ".join(layout.lines)[:-1].replace("\u00a0", " ")
    assert QUOTE_1000.startswith(shown)
    assert QUOTE_1000[len(shown)] == " "  # the cut falls between words


def test_a_word_wider_than_the_box_is_broken_between_characters():
    layout = layout_quote(UNBREAKABLE, *BOX)
    assert len(layout.lines) > 1
    assert "".join(layout.lines) == UNBREAKABLE


def test_short_quotes_are_kept_whole_and_wrapping_quote_marks_are_dropped():
    wrapped = layout_quote("“Water changes everything.”", *BOX)
    assert wrapped.lines == ("Water changes", "everything.")
    two_quotes = '"Yes," she said, "again"'
    assert " ".join(layout_quote(two_quotes, 1000, 300).lines) == two_quotes


def test_no_line_starts_with_a_dash():
    text = "When the pump came — finally — everything changed for us " * 3
    layout = layout_quote(text, 500, 400)
    assert not any(line.startswith(("—", "–")) for line in layout.lines)


def test_text_never_enters_the_card_margins_or_the_photo():
    huge = "W" * 300
    long_card = CardText(QUOTE_1000, huge, huge, huge, huge)
    for image in (None, photo((640, 480))):
        empty = sharecards._render(CardText("", "", "", "", ""), image, DEFAULT_THEME)
        full = sharecards._render(long_card, image, DEFAULT_THEME)
        geo = sharecards._geometry(image is not None)
        strips = [
            (geo.right, 0, CARD_WIDTH, CARD_HEIGHT),  # right margin
            (0, 0, geo.left - 8, CARD_HEIGHT),  # left margin or photo + gutter (the mark hangs 4 px)
            (0, 0, CARD_WIDTH, 30),  # top edge
            (0, CARD_HEIGHT - 30, CARD_WIDTH, CARD_HEIGHT),  # bottom edge
        ]
        for strip in strips:
            assert full.crop(strip).tobytes() == empty.crop(strip).tobytes(), strip


@pytest.mark.parametrize("has_photo", [False, True], ids=["no-photo", "photo"])
@pytest.mark.parametrize(
    "card",
    [
        CARD,
        dataclasses.replace(CARD, figure=""),
        CardText(QUOTE_1000, "W" * 200, "W" * 200, "W " * 200, "W" * 200),
        CardText("", "Amara O.", "", "", ""),
        CardText(CARD.quote, "", "Clean water", "", ""),
    ],
    ids=["typical", "no-figure", "everything-long", "author-only", "no-author"],
)
def test_text_blocks_are_stacked_without_overlapping(card, has_photo):
    plan = sharecards._plan(card, has_photo)
    blocks = [
        (plan.site, plan.site_y),
        (plan.quote, plan.quote_box[1]),
        (plan.author, plan.author_y),
        (plan.initiative, plan.initiative_y),
        (plan.figure, plan.figure_y),
    ]
    spans = [(y, y + layout.height) for layout, y in blocks if layout.lines]
    assert spans == sorted(spans)
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert end <= start
    assert spans[0][0] >= 0 and spans[-1][1] <= CARD_HEIGHT
    assert plan.quote.height <= plan.quote_box[3] - plan.quote_box[1]
    for layout, y in blocks:
        for left, top, right, bottom in layout.line_boxes:
            assert left >= 0 and plan.geometry.left + right <= plan.geometry.right
            assert y + top >= 0 and y + bottom <= CARD_HEIGHT


def test_the_quote_box_is_beside_the_photo():
    left, top, right, bottom = sharecards.quote_box(CARD, has_photo=True)
    assert left >= CARD_WIDTH * sharecards.PHOTO_FRACTION + 40
    assert right <= CARD_WIDTH - 40 and 0 < top < bottom < CARD_HEIGHT


# --- characters ----------------------------------------------------------------


def test_bundled_fonts_and_licence_ship_in_the_package():
    fonts = resources.files("storywall") / "fonts"
    names = {item.name for item in fonts.iterdir()}
    licences = {"OFL-AtkinsonHyperlegibleNext.txt", "OFL-NotoSans.txt"}
    assert set(sharecards.FONT_FILES.values()) | licences <= names
    for licence in licences:
        assert "SIL Open Font License" in (fonts / licence).read_text(encoding="utf-8")
    assert sum(item.stat().st_size for item in Path(str(fonts)).iterdir()) < 1_500_000


@pytest.mark.parametrize("face", sorted(sharecards.FONT_FILES))
def test_latin_extended_characters_have_real_glyphs(face):
    font = ImageFont.truetype(str(sharecards.font_path(face)), 40)
    notdef = bytes(font.getmask("\U000f0000"))  # a private-use code point: drawn as .notdef
    assert bytes(font.getmask("\U000f0001")) == notdef  # the check can see a missing glyph
    for char in "éøłğșőŁØÉçñüßåœ“”‘’—–…·€":
        assert bytes(font.getmask(char)) != notdef, char


def test_characters_without_a_glyph_are_dropped_not_drawn_as_boxes():
    assert clean_text("Thank you 💧🙏🏽 so much ❤️") == "Thank you so much"
    names = "Zoë Łukasiewicz-Øvergård, Ğüzel, Ștefan, Nguyễn"
    assert clean_text(names) == names
    assert clean_text("line\nbreak\u200b and\ttab\u00ad") == "line break and tab"
    assert clean_text("my daughter's club") == "my daughter’s club"


@pytest.mark.parametrize(
    "text, family",
    [
        ("Zoë Łukasiewicz-Øvergård", "atkinson"),
        ("Олена Коваленко з Києва", "noto"),  # Cyrillic
        ("Αλέξανδρος", "noto"),  # Greek
        ("Ấn tượng sâu sắc", "noto"),  # Vietnamese: ư, ợ are not in Atkinson
        ("Thanks from Олена", "noto"),  # mixed: one family for the whole block
        ("漢字 and 😀 aside", "atkinson"),  # in neither font: dropped
    ],
    ids=["latin-extended", "cyrillic", "greek", "vietnamese", "mixed", "cjk-and-emoji"],
)
def test_each_text_block_uses_the_first_font_that_has_all_its_characters(text, family):
    layout = layout_quote(text, 1000, 300)
    assert layout.family == family
    shown = " ".join(layout.lines).replace("\u00a0", " ")
    assert shown == (text if family == "noto" or "漢" not in text else "and aside")
    font = ImageFont.truetype(str(sharecards.font_path(layout.face)), 40)
    notdef = bytes(font.getmask("\U000f0000"))
    assert all(bytes(font.getmask(char)) != notdef for char in shown if char != " ")


def test_a_cyrillic_card_keeps_its_author_and_quote(tmp_path):
    card = CardText("Вода змінює все.", "Олена К.", "Чиста вода", "450 дітей · жовтень 2026", "Фонд")
    plan = sharecards._plan(card, has_photo=False)
    assert plan.quote.lines == ("Вода змінює все.",)
    assert plan.author.lines == ("— Олена К.",)
    made = make_share_card(tmp_path, card)
    assert open_card(tmp_path, made.filename).size == (1200, 630)


def test_non_ascii_texts_render(tmp_path):
    card = CardText(
        NON_ASCII, "Zoë Łukasiewicz-Øvergård", "Éducation & santé à Kigali", "", "Fundação Ñandú · Łódź"
    )
    made = make_share_card(tmp_path, card)
    assert open_card(tmp_path, made.filename).size == (1200, 630)


# --- photos --------------------------------------------------------------------


@pytest.mark.parametrize(
    "size",
    [(1600, 900), (600, 1200), (50, 50), (4000, 300)],
    ids=["landscape", "portrait", "tiny", "panorama"],
)
def test_photos_of_any_shape_are_cover_cropped_into_the_left_panel(tmp_path, size):
    source = tmp_path / "photo.jpg"
    photo(size).save(source, quality=95)
    made = make_share_card(tmp_path / "out", CARD, source)
    image = open_card(tmp_path / "out", made.filename)
    red, green, blue = image.getpixel((20, 20))
    assert red > 150 and green < 80 and blue < 80  # the photo fills the panel to its corner
    r, g, b = image.getpixel((CARD_WIDTH - 20, 20))
    assert max(abs(r - 0x0B), abs(g - 0x33), abs(b - 0x36)) < 16  # the text side is the theme


def test_a_transparent_photo_is_flattened(tmp_path):
    source = tmp_path / "logo.png"
    photo((300, 300), color=(0, 0, 0, 0), mode="RGBA").save(source)
    made = make_share_card(tmp_path, CARD, source)
    assert open_card(tmp_path, made.filename).mode == "RGB"


@pytest.mark.parametrize("mode", ["L", "LA", "P", "CMYK"])
def test_photos_in_other_modes_become_rgb(tmp_path, mode):
    made = make_share_card(tmp_path, CARD, photo((320, 240)).convert(mode))
    assert open_card(tmp_path, made.filename).mode == "RGB"


def test_a_16_bit_photo_is_scaled_not_clipped(tmp_path):
    made = make_share_card(tmp_path, CARD, Image.new("I;16", (320, 240), 40000))
    r, g, b = open_card(tmp_path, made.filename).getpixel((20, 20))
    assert abs(r - 40000 // 256) <= 4 and r == g == b


def test_the_exif_orientation_of_a_photo_is_applied(tmp_path):
    # Stored landscape: left half red, right half blue. Orientation 6 means "rotate
    # 90° clockwise to display", so the displayed photo has red on top.
    stored = Image.new("RGB", (800, 400), (220, 20, 20))
    stored.paste((20, 20, 220), (400, 0, 800, 400))
    exif = Image.Exif()
    exif[0x0112] = 6
    source = tmp_path / "rotated.jpg"
    stored.save(source, exif=exif)
    made = make_share_card(tmp_path / "out", CARD, source)
    image = open_card(tmp_path / "out", made.filename)
    top, bottom = image.getpixel((240, 40)), image.getpixel((240, 590))
    assert top[0] > 150 and top[2] < 80
    assert bottom[2] > 150 and bottom[0] < 80


def test_an_unreadable_photo_is_a_clear_error(tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a picture")
    with pytest.raises(ShareCardError, match="broken.jpg"):
        make_share_card(tmp_path / "out", CARD, broken)
    with pytest.raises(ShareCardError, match="missing.jpg"):
        make_share_card(tmp_path / "out", CARD, tmp_path / "missing.jpg")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_the_callers_photo_is_not_modified(tmp_path):
    image = photo((300, 200), mode="RGBA")
    before = image.tobytes()
    make_share_card(tmp_path, CARD, image)
    assert image.mode == "RGBA" and image.tobytes() == before


# --- colours -------------------------------------------------------------------


@pytest.mark.parametrize("role", ["text", "muted", "accent"])
def test_default_text_colours_have_at_least_4_5_to_1_contrast_on_the_whole_gradient(role):
    theme = DEFAULT_THEME
    for background in (theme.background_top, theme.background_bottom):
        assert contrast_ratio(getattr(theme, role), background) >= 4.5


def test_contrast_ratio_matches_wcag_reference_values():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast_ratio("#ffffff", "#ffffff") == pytest.approx(1.0)


def test_a_custom_theme_is_used(tmp_path):
    theme = CardTheme(background_top="#3a0d2e", background_bottom="#3a0d2e")
    made = make_share_card(tmp_path, CARD, theme=theme)
    r, g, b = open_card(tmp_path, made.filename).getpixel((CARD_WIDTH - 10, CARD_HEIGHT - 10))
    assert max(abs(r - 0x3A), abs(g - 0x0D), abs(b - 0x2E)) < 12
