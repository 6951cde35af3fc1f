"""Share cards: the 1200×630 image a story shows when its link is shared.

Pure module (Pillow only, no Pelican): texts and an optional photo in, one JPEG
file out. The build uses the card as the page's ``og:image`` and
``twitter:image`` (``summary_large_image``).

Decisions (each one is tested in tests/test_sharecards.py):

* Layout. With a photo, the photo fills the left 40 % of the card
  (cover-cropped, centred a little above the middle, where faces usually are)
  and the texts sit on the theme's dark gradient panel on the right. Without a
  photo the gradient fills the card and the texts get the full width. Text is
  never drawn on the photo, so its contrast does not depend on the picture:
  the default theme's colours are at least 4.5:1 (WCAG AA) against both ends
  of the gradient.
* Texts, top to bottom: the site name; a large opening quote mark; the quote
  (bold, 64 px shrinking to 30 px to fit its box, then truncated on a word
  with "…"); "— author" and the initiative; a rule and the headline figure
  (up to two lines). Every text block is laid out by :func:`layout_text`,
  which measures each line's real bounding box, so no line can leave its box.
  A word wider than the box (a long URL) is broken between characters.
* Characters. Two font families are bundled in ``storywall/fonts`` (both SIL
  OFL 1.1): Atkinson Hyperlegible Next, designed for low-vision readers,
  covers Latin and Latin Extended (é, ø, ł, ğ, ș, curly quotes, dashes); Noto
  Sans adds Cyrillic, Greek, Vietnamese and Devanagari. Each text block uses
  the first family that has a glyph for every one of its characters, so a
  Ukrainian name is not lost and a block never mixes two designs. A character
  neither has is replaced by its unaccented base letter when that exists and
  is dropped otherwise (emoji, flags, CJK, Arabic), so no tofu box is drawn.
* File name. ``card-<hash12>.jpg``, where the hash covers every text, the
  theme, the photo (its file bytes, or an in-memory image's pixels), the font
  files and :data:`LAYOUT_VERSION`. Same inputs, same name: an existing file
  is reused without rendering. Bump :data:`LAYOUT_VERSION` whenever the
  drawing code changes.
* Output. Progressive JPEG, quality 85, optimised Huffman
  tables, 4:2:0 chroma, sRGB with no ICC profile, EXIF, XMP or comment;
  typically 40–120 KB. Written to a temporary file in the same folder and
  moved into place with ``os.replace``, so a reader never sees half a card.
* Speed. Fonts are cached per (face, size) and word widths per (face, size,
  word); lines are wrapped on summed word widths and only the final lines are
  measured exactly. A JPEG photo is decoded DCT-scaled (``draft``) to the
  smallest size that covers its panel. A card takes about 45–100 ms once the
  fonts are loaded; a reused card costs one hash of the photo file.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import tempfile
import unicodedata
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageCms, ImageColor, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from storywall.errors import StoryWallError

__all__ = [
    "CARD_HEIGHT",
    "CARD_WIDTH",
    "DEFAULT_THEME",
    "LAYOUT_VERSION",
    "CardText",
    "CardTheme",
    "QuoteLayout",
    "ShareCard",
    "ShareCardError",
    "card_filename",
    "clean_text",
    "contrast_ratio",
    "font_path",
    "layout_quote",
    "layout_text",
    "make_share_card",
    "quote_box",
]

# --- settings (px unless noted) --------------------------------------------

CARD_WIDTH = 1200
CARD_HEIGHT = 630
LAYOUT_VERSION = 1  # bump when the drawing changes: every card gets a new file name

JPEG_QUALITY = 85
PHOTO_FRACTION = 0.40  # share of the card's width the photo takes
PHOTO_CENTERING = (0.5, 0.4)  # cover-crop centre: a little above the middle (faces)

MARGIN_X = 72  # left/right margin of the text column (no photo: from the card edge)
GUTTER = 56  # space between the photo and the text column
MARGIN_TOP = 48
MARGIN_BOTTOM = 44

QUOTE_MAX_SIZE = 64
QUOTE_MIN_SIZE = 30
QUOTE_LINE_SPACING = 1.18  # line pitch as a multiple of the font size
MARK_SIZE = 120  # the decorative opening quote mark

SITE_SIZE, SITE_MIN_SIZE = 24, 18
AUTHOR_SIZE, AUTHOR_MIN_SIZE = 30, 22
INITIATIVE_SIZE, INITIATIVE_MIN_SIZE = 24, 18
FIGURE_SIZE, FIGURE_MIN_SIZE = 26, 20
SMALL_LINE_SPACING = 1.3

ELLIPSIS = "…"
REGULAR = "regular"
BOLD = "bold"
# Font families in order of preference: a text block uses the first that has a glyph
# for every character in it (Atkinson for Latin; Noto Sans for Cyrillic, Greek,
# Vietnamese and Devanagari, or a block that mixes them with Latin).
FAMILIES = ("atkinson", "noto")
FONT_FILES = {
    "atkinson/regular": "AtkinsonHyperlegibleNext-Regular.ttf",
    "atkinson/bold": "AtkinsonHyperlegibleNext-Bold.ttf",
    "noto/regular": "NotoSans-Regular.ttf",
    "noto/bold": "NotoSans-Bold.ttf",
}
FONT_DIR = Path(__file__).parent / "fonts"

Box = tuple[int, int, int, int]


class ShareCardError(StoryWallError):
    """A share card could not be made (for example, its photo cannot be read)."""


# --- public data types -------------------------------------------------------


@dataclass(frozen=True)
class CardText:
    """Everything written on a card. Any field may be empty except that a card
    with no quote and no author is rather bare."""

    quote: str  # the pull quote or the story's opening words (≤ 200 chars expected)
    author: str  # display name, drawn as "— Amara O."
    initiative: str  # the initiative's title
    figure: str = ""  # headline figure, e.g. "450 children have safe water · as of October 2026"
    site_name: str = ""


@dataclass(frozen=True)
class CardTheme:
    """Colours as CSS hex strings. Text is drawn only on the background gradient."""

    background_top: str = "#0b3336"
    background_bottom: str = "#114846"
    text: str = "#ffffff"  # the quote and the author
    muted: str = "#cfe6e1"  # initiative and site name
    accent: str = "#f6c85f"  # quote mark, rule and figure


DEFAULT_THEME = CardTheme()


@dataclass(frozen=True)
class ShareCard:
    filename: str  # card-<hash12>.jpg, inside the out_dir given to make_share_card
    width: int
    height: int
    bytes: int


@dataclass(frozen=True)
class QuoteLayout:
    """Lines of one text block fitted into a box.

    ``positions`` are the (x, y) draw origins of each line, relative to the box's
    top-left, for ``ImageDraw.text(..., anchor="la")``; ``line_boxes`` are each
    drawn line's ink bounding box in the same coordinates.
    """

    font_size: int
    lines: tuple[str, ...]
    line_boxes: tuple[Box, ...]
    positions: tuple[tuple[int, int], ...]
    line_height: int
    height: int  # from the first line's top to the last line's descender
    truncated: bool
    weight: str = BOLD
    family: str = FAMILIES[0]

    @property
    def face(self) -> str:
        """The key of the font file in :data:`FONT_FILES`, e.g. ``"atkinson/bold"``."""
        return f"{self.family}/{self.weight}"

    @property
    def width(self) -> int:
        return max((box[2] for box in self.line_boxes), default=0)


# --- fonts and characters ----------------------------------------------------


def font_path(face: str) -> Path:
    """The bundled font file for a face such as ``"atkinson/bold"``."""
    return FONT_DIR / FONT_FILES[face]


@lru_cache(maxsize=256)  # 4 faces × the ~45 sizes layouts try
def _font(face: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path(face)), size)


@lru_cache(maxsize=1)
def _fonts_digest() -> str:
    digest = hashlib.sha256()
    for face in sorted(FONT_FILES):
        digest.update(font_path(face).read_bytes())
    return digest.hexdigest()


@lru_cache(maxsize=8)
def _notdef_mask(face: str) -> bytes:
    # U+F0000 is a private-use code point no text font maps: it draws .notdef.
    return bytes(_font(face, 40).getmask("\U000f0000"))


@lru_cache(maxsize=8192)
def _has_glyph(family: str, char: str) -> bool:
    """Whether both weights of ``family`` draw ``char`` with a real glyph."""
    return all(
        bytes(_font(face, 40).getmask(char)) != _notdef_mask(face)
        for face in (f"{family}/{REGULAR}", f"{family}/{BOLD}")
    )


def _drawable(char: str) -> bool:
    return any(_has_glyph(family, char) for family in FAMILIES)


def _family_for(text: str) -> tuple[str, str]:
    """The first family that draws every character of ``text`` (else the one that
    draws most of them), and ``text`` without the characters it cannot draw."""
    chars = set(text) - {" "}
    best, best_missing = FAMILIES[0], None
    for family in FAMILIES:
        missing = {c for c in chars if not _has_glyph(family, c)}
        if not missing:
            return family, text
        if best_missing is None or len(missing) < len(best_missing):
            best, best_missing = family, missing
    kept = "".join(c for c in text if c not in (best_missing or ()))
    return best, " ".join(kept.split())


_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U0001bca0-\U0001bca3\U000e0000-\U000e0fff]"
)


_APOSTROPHE = re.compile(r"(?<=\w)'(?=\w)|(?<=s)'(?=\s|$)")  # daughter's, O'Brien, parents'


@lru_cache(maxsize=4096)
def _substitute(char: str) -> str:
    if char.isspace():
        return " "
    if unicodedata.category(char)[0] == "C":  # controls, format characters, unassigned
        return ""
    if _drawable(char):
        return char
    # A letter with an accent no font has falls back to its base letter ("ǹ" → "n").
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    if base and base != char and all(not c.isspace() and _drawable(c) for c in base):
        return base
    return ""


def clean_text(text: str) -> str:
    """NFC, one line, characters no bundled font has replaced or dropped,
    typographic apostrophes, spaces collapsed."""
    text = _IGNORABLE.sub("", unicodedata.normalize("NFC", text or ""))
    text = "".join(_substitute(char) for char in text)
    text = _APOSTROPHE.sub("’", text)
    return " ".join(text.split())


# --- layout ------------------------------------------------------------------


def _measure(font: ImageFont.FreeTypeFont, text: str) -> Box:
    left, top, right, bottom = font.getbbox(text, anchor="la")
    return math.floor(left), math.floor(top), math.ceil(right), math.ceil(bottom)


@lru_cache(maxsize=8192)
def _overshoot(face: str, char: str) -> tuple[float, float]:
    """How far ``char``'s ink rises above the ascender and sinks below the descender,
    as fractions of the font size (stacked accents such as "Ấ" rise above it)."""
    font = _font(face, 100)
    ascent, descent = font.getmetrics()
    _, top, _, bottom = font.getbbox(char, anchor="la")
    return max(0.0, -top) / 100, max(0.0, bottom - ascent - descent) / 100


def _line_width(font: ImageFont.FreeTypeFont, text: str) -> int:
    left, _, right, _ = _measure(font, text)
    return right - min(left, 0)  # a negative left bearing is shifted into the box


def _split_word(font: ImageFont.FreeTypeFont, word: str, width: int) -> list[str]:
    """Break a word wider than ``width`` into pieces that fit (at least one char each)."""
    pieces: list[str] = []
    while word:
        lo, hi = 1, len(word)  # the longest prefix that fits, found by bisection
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if _line_width(font, word[:mid]) <= width:
                lo = mid
            else:
                hi = mid - 1
        if lo < len(word):  # prefer to break after a hyphen or slash (URLs, compounds)
            soft = max(word.rfind(mark, 0, lo) for mark in "-/_.?&=")
            if soft + 1 >= lo // 2:
                lo = soft + 1
        pieces.append(word[:lo])
        word = word[lo:]
    return pieces


@lru_cache(maxsize=16384)
def _advance(face: str, size: int, text: str) -> float:
    return _font(face, size).getlength(text)


def _wrap_fast(
    face: str, size: int, words: list[str], width: int, max_lines: int
) -> tuple[list[str], bool] | None:
    """Greedy wrap on estimated widths (sum of cached word advances), which costs one
    shaping call per distinct word instead of one per candidate line. Returns None
    when a word needs breaking or any line's *measured* width exceeds the box, so the
    caller falls back to :func:`_wrap`; the result is therefore always exact."""
    space = _advance(face, size, " ")
    lines: list[str] = []
    current: list[str] = []
    used = 0.0
    for word in words:
        advance = _advance(face, size, word)
        if current and used + space + advance <= width:
            current.append(word)
            used += space + advance
            continue
        if advance > width:
            return None
        if current:
            lines.append(" ".join(current))
            if len(lines) > max_lines:
                return lines, True
        current, used = [word], advance
    if current:
        lines.append(" ".join(current))
    font = _font(face, size)
    if any(_line_width(font, line) > width for line in lines[: max_lines + 1]):
        return None
    return lines, len(lines) > max_lines


def _wrap(
    font: ImageFont.FreeTypeFont, words: list[str], width: int, max_lines: int, split: bool
) -> tuple[list[str], bool] | None:
    """Greedy wrap on measured widths. Returns (lines, overflowed) — at most
    ``max_lines + 1`` lines are built, so a very long text costs no more than a short
    one — or None when a word does not fit on a line and ``split`` is False."""
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if _line_width(font, candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
            current = ""
        if _line_width(font, word) <= width:
            current = word
        elif split:
            *full, current = _split_word(font, word, width)
            lines.extend(full)
        else:
            return None
        if len(lines) > max_lines:
            return lines, True
    if current:
        lines.append(current)
    return lines, len(lines) > max_lines


@dataclass(frozen=True)
class _Metrics:
    line_height: int  # pitch from one line's top to the next
    head: int  # room above the first line for ink that rises above the ascender
    extent: int  # one line's height: head + ascent + descent + foot

    def max_lines(self, box_height: int) -> int:
        if box_height < self.extent:
            return 0
        return (box_height - self.extent) // self.line_height + 1


def _metrics(face: str, size: int, line_spacing: float, chars: frozenset[str]) -> _Metrics:
    ascent, descent = _font(face, size).getmetrics()
    rise = max((_overshoot(face, c)[0] for c in chars), default=0.0)
    sink = max((_overshoot(face, c)[1] for c in chars), default=0.0)
    head = math.ceil(rise * size) + 1 if rise else 0  # +1: hinting does not scale exactly
    foot = math.ceil(sink * size) + 1 if sink else 0
    return _Metrics(round(size * line_spacing), head, head + ascent + descent + foot)


_TRAILING = " \u00a0.,;:–—-·/([{«“‘\"'"  # not worth keeping before "…"


def _ellipsize(font: ImageFont.FreeTypeFont, line: str, width: int) -> str:
    """``line`` + "…", cut on a word (or, for one long word, a character) so it fits."""
    line = line.rstrip(_TRAILING)
    while line:
        if _line_width(font, line + ELLIPSIS) <= width:
            return line + ELLIPSIS
        if " " in line:
            line = line.rsplit(" ", 1)[0].rstrip(_TRAILING)
        else:
            line = line[:-1]
    return ELLIPSIS if _line_width(font, ELLIPSIS) <= width else ""


_GLUE_TO_PREVIOUS = re.compile(r"^[—–\-·•/|!?;:»”’)\]}…%]+$")


def _words(text: str) -> list[str]:
    """Break opportunities: spaces, except that a lone dash or punctuation mark stays
    with the word before it, so no line starts with "— " or " ?"."""
    words: list[str] = []
    for word in text.split(" ") if text else []:
        if words and _GLUE_TO_PREVIOUS.match(word):
            words[-1] = f"{words[-1]}\u00a0{word}"
        else:
            words.append(word)
    return words


def layout_text(
    text: str,
    box_width: int,
    box_height: int,
    *,
    max_size: int,
    min_size: int,
    weight: str = BOLD,
    line_spacing: float = QUOTE_LINE_SPACING,
    max_lines: int | None = None,
    family: str | None = None,
) -> QuoteLayout:
    """Wrap ``text`` into the box at the largest size in [min_size, max_size] where it
    fits without breaking a word; at ``min_size``, break over-wide words and truncate
    on a word with "…" if it still does not fit. Never returns a line outside the box.

    The font family is the first of :data:`FAMILIES` that has every character
    (``family`` forces one); characters it lacks are dropped."""
    if family is None:
        family, text = _family_for(clean_text(text))
    else:
        text = "".join(c for c in clean_text(text) if c == " " or _has_glyph(family, c))
        text = " ".join(text.split())
    face = f"{family}/{weight}"
    words = _words(text)
    chars = frozenset("".join(words))

    def attempt(size: int, final: bool) -> tuple[list[str], bool] | None:
        limit = _metrics(face, size, line_spacing, chars).max_lines(box_height)
        if max_lines is not None:
            limit = min(limit, max_lines)
        result = _wrap_fast(face, size, words, box_width, limit)
        if result is None:
            result = _wrap(_font(face, size), words, box_width, limit, split=final)
        if result is None or (result[1] and not final):
            return None
        lines, overflowed = result
        if overflowed:
            lines = lines[:limit]
            if lines:
                lines[-1] = _ellipsize(_font(face, size), lines[-1], box_width)
            lines = [line for line in lines if line]
        return lines, overflowed

    chosen: tuple[int, tuple[list[str], bool]] | None = None
    lo, hi = min_size, max_size
    while lo <= hi:  # bisect for the largest size that fits unbroken and untruncated
        mid = (lo + hi) // 2
        result = attempt(mid, final=False) if words else ([], False)
        if result is not None:
            chosen = (mid, result)
            lo = mid + 1
        else:
            hi = mid - 1
    if chosen is None:
        chosen = (min_size, attempt(min_size, final=True) or ([], False))
    size, (lines, truncated) = chosen

    font = _font(face, size)
    metrics = _metrics(face, size, line_spacing, chars)
    while True:
        positions: list[tuple[int, int]] = []
        boxes: list[Box] = []
        for index, line in enumerate(lines):
            left, top, right, bottom = _measure(font, line)
            x, y = max(0, -left), metrics.head + index * metrics.line_height
            positions.append((x, y))
            boxes.append((left + x, top + y, right + x, bottom + y))
        height = (len(lines) - 1) * metrics.line_height + metrics.extent if lines else 0
        inside = all(
            0 <= left and right <= box_width and 0 <= top and bottom <= box_height
            for left, top, right, bottom in boxes
        )
        if inside and height <= box_height:
            break
        # Only reachable when rounding defeats the metrics above: drop the last line.
        lines, truncated = lines[:-1], True
        if lines:
            lines[-1] = _ellipsize(font, lines[-1], box_width) or lines[-1]
    return QuoteLayout(
        font_size=size,
        lines=tuple(lines),
        line_boxes=tuple(boxes),
        positions=tuple(positions),
        line_height=metrics.line_height,
        height=height,
        truncated=truncated,
        weight=weight,
        family=family,
    )


def layout_quote(text: str, box_width: int, box_height: int) -> QuoteLayout:
    """The quote's layout: bold, 64 px down to 30 px, then truncated with "…"."""
    return layout_text(
        _strip_quote_marks(text),
        box_width,
        box_height,
        max_size=QUOTE_MAX_SIZE,
        min_size=QUOTE_MIN_SIZE,
        weight=BOLD,
        line_spacing=QUOTE_LINE_SPACING,
    )


def _strip_quote_marks(text: str) -> str:
    """The card draws its own opening mark; drop marks that wrap the whole quote."""
    text = clean_text(text)
    pairs = {'"': '"', "“": "”", "„": "“", "«": "»", "‘": "’", "'": "'", "”": "”"}
    if len(text) >= 2 and text[0] in pairs and text[-1] == pairs[text[0]]:
        inner = text[1:-1].strip()
        if text[0] not in inner:  # "a" and "b" is not one wrapped quote
            return inner
    return text


def _fit_line(
    text: str,
    width: int,
    size: int,
    min_size: int,
    weight: str,
    lines: int = 1,
    family: str | None = None,
) -> QuoteLayout:
    """A short block (site name, author, initiative, figure): ``lines`` lines at most,
    ``size`` down to ``min_size`` px, then truncated with "…"."""
    if family is None:
        family, text = _family_for(clean_text(text))
    metrics = _metrics(f"{family}/{weight}", size, SMALL_LINE_SPACING, frozenset(text))
    return layout_text(
        text,
        width,
        metrics.line_height * (lines - 1) + metrics.extent,
        max_size=size,
        min_size=min_size,
        weight=weight,
        line_spacing=SMALL_LINE_SPACING,
        max_lines=lines,
        family=family,
    )


def _fit_figure(text: str, width: int) -> QuoteLayout:
    """One line if it fits at 20 px or more; else two, broken at the first " · " when
    both halves fit ("450 children have safe water" / "as of October 2026")."""
    family, text = _family_for(clean_text(text))
    one = _fit_line(text, width, FIGURE_SIZE, FIGURE_MIN_SIZE, BOLD, family=family)
    if not one.truncated:
        return one
    head, sep, tail = text.partition(" · ")
    if sep:
        halves = [
            _fit_line(half, width, FIGURE_SIZE, FIGURE_MIN_SIZE, BOLD, family=family)
            for half in (head, tail)
        ]
        if not any(half.truncated for half in halves):
            size = min(half.font_size for half in halves)
            top, bottom = (
                _fit_line(half, width, size, size, BOLD, family=family) for half in (head, tail)
            )
            pitch = max(round(size * SMALL_LINE_SPACING), top.height)
            shifted = tuple((l, t + pitch, r, b + pitch) for l, t, r, b in bottom.line_boxes)
            return QuoteLayout(
                font_size=size,
                lines=top.lines + bottom.lines,
                line_boxes=top.line_boxes + shifted,
                positions=top.positions + tuple((x, y + pitch) for x, y in bottom.positions),
                line_height=pitch,
                height=pitch + bottom.height,
                truncated=False,
                weight=BOLD,
                family=family,
            )
    return _fit_line(text, width, FIGURE_SIZE, FIGURE_MIN_SIZE, BOLD, lines=2, family=family)


# --- geometry ------------------------------------------------------------------


@dataclass(frozen=True)
class _Geometry:
    photo: Box | None
    left: int
    right: int

    @property
    def width(self) -> int:
        return self.right - self.left


def _geometry(has_photo: bool) -> _Geometry:
    if has_photo:
        photo_width = round(CARD_WIDTH * PHOTO_FRACTION)
        photo = (0, 0, photo_width, CARD_HEIGHT)
        return _Geometry(photo, photo_width + GUTTER, CARD_WIDTH - MARGIN_X)
    return _Geometry(None, MARGIN_X + 16, CARD_WIDTH - MARGIN_X - 16)


@dataclass(frozen=True)
class _Plan:
    geometry: _Geometry
    site: QuoteLayout
    site_y: int
    mark_y: int
    quote: QuoteLayout
    quote_box: Box  # the space the quote was fitted into; the quote starts at its top
    author: QuoteLayout
    author_y: int
    initiative: QuoteLayout
    initiative_y: int
    figure: QuoteLayout
    figure_y: int
    rule_y: int | None


MARK_HEIGHT = 50  # the ink of the quote mark at MARK_SIZE, plus a little air
GAP_SITE = 34
GAP_ATTRIBUTION = 26
GAP_INITIATIVE = 6
GAP_FIGURE = 30  # between the attribution block and the rule above the figure


def _author_line(author: str) -> str:
    author = " ".join((author or "").split())
    if not author:
        return ""
    return author if author[0] in "—–-" else f"— {author}"


def _plan(card: CardText, has_photo: bool) -> _Plan:
    geo = _geometry(has_photo)
    width = geo.width

    site = _fit_line(card.site_name, width, SITE_SIZE, SITE_MIN_SIZE, BOLD)
    site_y = MARGIN_TOP
    top = site_y + (site.height + GAP_SITE if site.lines else 0)

    figure = _fit_figure(card.figure, width)
    bottom = CARD_HEIGHT - MARGIN_BOTTOM
    figure_y = bottom - figure.height
    rule_y = figure_y - 22 if figure.lines else None
    middle_bottom = (rule_y - GAP_FIGURE) if rule_y is not None else bottom

    author = _fit_line(_author_line(card.author), width, AUTHOR_SIZE, AUTHOR_MIN_SIZE, BOLD)
    initiative = _fit_line(card.initiative, width, INITIATIVE_SIZE, INITIATIVE_MIN_SIZE, REGULAR)
    between = GAP_INITIATIVE if author.lines and initiative.lines else 0
    attribution = author.height + between + initiative.height
    has_quote = bool(clean_text(_strip_quote_marks(card.quote)))
    gap = GAP_ATTRIBUTION if has_quote and attribution else 0
    mark = MARK_HEIGHT if has_quote else 0

    quote_height = max(0, middle_bottom - top - mark - gap - attribution)
    quote = layout_quote(card.quote if has_quote else "", width, quote_height)

    # Centre the mark + quote + attribution group in the middle region.
    group = mark + quote.height + gap + attribution
    mark_y = top + max(0, (middle_bottom - top - group) // 2)
    quote_y = mark_y + mark
    author_y = quote_y + quote.height + gap
    return _Plan(
        geometry=geo,
        site=site,
        site_y=site_y,
        mark_y=mark_y,
        quote=quote,
        quote_box=(geo.left, quote_y, geo.right, quote_y + quote_height),
        author=author,
        author_y=author_y,
        initiative=initiative,
        initiative_y=author_y + author.height + between,
        figure=figure,
        figure_y=figure_y,
        rule_y=rule_y,
    )


def quote_box(card: CardText, has_photo: bool) -> Box:
    """Where the quote may be drawn on the card (left, top, right, bottom)."""
    return _plan(card, has_photo).quote_box


# --- drawing -------------------------------------------------------------------


def _rgb(color: str) -> tuple[int, int, int]:
    return ImageColor.getrgb(color)[:3]  # type: ignore[return-value]


def _luminance(color: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = _rgb(color)
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio of two CSS colours, from 1.0 to 21.0."""
    a, b = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (a + 0.05) / (b + 0.05)


@lru_cache(maxsize=8)
def _background(theme: CardTheme) -> Image.Image:
    top = Image.new("RGB", (CARD_WIDTH, CARD_HEIGHT), _rgb(theme.background_top))
    bottom = Image.new("RGB", (CARD_WIDTH, CARD_HEIGHT), _rgb(theme.background_bottom))
    mask = Image.linear_gradient("L").resize((CARD_WIDTH, CARD_HEIGHT), Image.Resampling.BILINEAR)
    return Image.composite(bottom, top, mask)


def _srgb(image: Image.Image) -> Image.Image:
    icc = image.info.get("icc_profile")
    if not icc:
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in (ImageCms.getProfileDescription(source) or "").lower():
            return image
        if image.mode not in ("RGB", "CMYK", "L"):
            return image
        srgb = ImageCms.createProfile("sRGB")
        return ImageCms.profileToProfile(image, source, srgb, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # a broken profile: plain conversion, never a crash


def _to_rgb(image: Image.Image, matte: tuple[int, int, int]) -> Image.Image:
    image = _srgb(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, matte)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.point(lambda v: v / 256).convert("L")  # scale 16-bit, do not clip
    return image if image.mode == "RGB" else image.convert("RGB")


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation (no copy when there is none: photos are big)."""
    if image.getexif().get(0x0112, 1) in (None, 1):
        return image
    return ImageOps.exif_transpose(image) or image


def _open_photo(
    photo: Path | Image.Image, size: tuple[int, int], matte: tuple[int, int, int]
) -> Image.Image:
    if isinstance(photo, Image.Image):
        return _to_rgb(_upright(photo), matte)
    try:
        try:
            opened = Image.open(photo)
        except UnidentifiedImageError:
            if not _register_heif():  # imported only when needed: it costs ~15 ms
                raise
            opened = Image.open(photo)
        with opened:
            turned = opened.getexif().get(0x0112, 1) in (5, 6, 7, 8)  # displayed sideways
            # JPEG: decode DCT-scaled to the smallest size that still covers the panel.
            opened.draft("RGB", size[::-1] if turned else size)
            opened.load()
            return _to_rgb(_upright(opened), matte)
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError) as err:
        raise ShareCardError(f"{photo}: cannot read the photo for its share card ({err})") from err


@lru_cache(maxsize=1)
def _register_heif() -> bool:
    """Let Pillow open HEIC/HEIF; False when pillow-heif is missing."""
    try:
        from pillow_heif import register_heif_opener  # type: ignore[import-not-found]
    except ImportError:  # pragma: no cover - pillow-heif is a dependency
        return False
    register_heif_opener()
    return True


def _cover(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scale and crop ``image`` to exactly ``size``, filling it (CSS object-fit: cover)."""
    width, height = image.size
    target_w, target_h = size
    scale = max(target_w / width, target_h / height)
    crop_w, crop_h = min(width, target_w / scale), min(height, target_h / scale)  # floats: clamp
    x = max(0.0, (width - crop_w) * PHOTO_CENTERING[0])
    y = max(0.0, (height - crop_h) * PHOTO_CENTERING[1])
    method = Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC
    return image.resize(size, method, box=(x, y, x + crop_w, y + crop_h), reducing_gap=3.0)


def _draw_block(draw: ImageDraw.ImageDraw, layout: QuoteLayout, x: int, y: int, color: str) -> None:
    font = _font(layout.face, layout.font_size)
    for line, (dx, dy) in zip(layout.lines, layout.positions):
        draw.text((x + dx, y + dy), line, font=font, fill=_rgb(color), anchor="la")


def _render(card: CardText, photo: Image.Image | None, theme: CardTheme) -> Image.Image:
    """Draw the card. ``photo`` is already RGB; this is the function tests count."""
    plan = _plan(card, photo is not None)
    geo = plan.geometry
    image = _background(theme).copy()
    if photo is not None and geo.photo is not None:
        box = geo.photo
        image.paste(_cover(photo, (box[2] - box[0], box[3] - box[1])), box[:2])
    draw = ImageDraw.Draw(image)
    left = geo.left

    _draw_block(draw, plan.site, left, plan.site_y, theme.muted)
    if plan.quote.lines:
        mark = _font(f"{FAMILIES[0]}/{BOLD}", MARK_SIZE)
        # The mark's ink starts well below its ascender: lift it so the ink sits at mark_y.
        ink_top = mark.getbbox("“", anchor="la")[1]
        origin = (left - 4, plan.mark_y - ink_top)
        draw.text(origin, "“", font=mark, fill=_rgb(theme.accent), anchor="la")
        _draw_block(draw, plan.quote, left, plan.quote_box[1], theme.text)
    _draw_block(draw, plan.author, left, plan.author_y, theme.text)
    _draw_block(draw, plan.initiative, left, plan.initiative_y, theme.muted)
    if plan.rule_y is not None:
        draw.rectangle((left, plan.rule_y, left + 72, plan.rule_y + 3), fill=_rgb(theme.accent))
    _draw_block(draw, plan.figure, left, plan.figure_y, theme.accent)
    return image


# --- files ---------------------------------------------------------------------


def _photo_digest(photo: Path | Image.Image | None) -> str:
    if photo is None:
        return ""
    if isinstance(photo, Image.Image):
        digest = hashlib.sha256(f"{photo.mode}:{photo.size}:".encode())
        digest.update(photo.tobytes())
        return "pixels:" + digest.hexdigest()
    try:
        with open(photo, "rb") as handle:
            return "file:" + hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as err:
        message = f"{photo}: cannot read the photo for its share card ({err.strerror})"
        raise ShareCardError(message) from err


def card_filename(
    card: CardText, photo: Path | Image.Image | None = None, theme: CardTheme = DEFAULT_THEME
) -> str:
    """``card-<hash12>.jpg``: the hash covers every input that changes the picture."""
    payload = {
        "layout": LAYOUT_VERSION,
        "size": [CARD_WIDTH, CARD_HEIGHT],
        "quality": JPEG_QUALITY,
        "card": asdict(card),
        "theme": asdict(theme),
        "fonts": _fonts_digest(),
        "photo": _photo_digest(photo),
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return f"card-{hashlib.sha256(blob).hexdigest()[:12]}.jpg"


def _write_jpeg(image: Image.Image, target: Path) -> None:
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".card-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            # No exif=, icc_profile= or comment=: the file carries no metadata.
            image.save(
                handle,
                "JPEG",
                quality=JPEG_QUALITY,
                progressive=True,
                optimize=True,
                subsampling="4:2:0",
            )
        os.chmod(temp, 0o644)  # mkstemp makes 0600; a web server must read the card
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def make_share_card(
    out_dir: Path,
    card: CardText,
    photo: Path | Image.Image | None = None,
    *,
    theme: CardTheme = DEFAULT_THEME,
) -> ShareCard:
    """Make (or reuse) the card for ``card`` in ``out_dir`` and describe it.

    ``photo`` is a path to an image file or an in-memory Pillow image (it is not
    modified). Raises :class:`ShareCardError` when the photo cannot be read.
    """
    out_dir = Path(out_dir)
    if isinstance(photo, (str, os.PathLike)):
        photo = Path(photo)
    filename = card_filename(card, photo, theme)
    target = out_dir / filename
    if not target.is_file():
        size = (round(CARD_WIDTH * PHOTO_FRACTION), CARD_HEIGHT)
        rgb = _open_photo(photo, size, _rgb(theme.background_top)) if photo is not None else None
        out_dir.mkdir(parents=True, exist_ok=True)
        _write_jpeg(_render(card, rgb, theme), target)
    size_bytes = target.stat().st_size
    return ShareCard(filename=filename, width=CARD_WIDTH, height=CARD_HEIGHT, bytes=size_bytes)
