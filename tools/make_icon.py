"""Draw the program icon (assets/autohedge.ico) with Pillow: a dark tile with a green
up-arrow and a red down-arrow side by side (a position and its hedge).

    python -m tools.make_icon            # rewrites assets/autohedge.ico (commit the result)

The .ico is committed so a build never depends on Pillow; rerun this only to change the picture.
Drawn at 256 px and downscaled into every size Windows asks for.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, ImageDraw

ICON_PATH = Path(__file__).resolve().parent.parent / "assets" / "autohedge.ico"
SIZES = [(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)]
TILE = (24, 32, 48, 255)
LONG = (38, 194, 129, 255)
SHORT = (234, 57, 67, 255)


def _arrow(draw: ImageDraw.ImageDraw, x: int, up: bool, colour: tuple[int, int, int, int]) -> None:
    """A block arrow 72 px wide in the column starting at ``x``, pointing up or down."""
    top, bottom, head = 44, 212, 78
    shaft = (x + 20, top + head, x + 52, bottom) if up else (x + 20, top, x + 52, bottom - head)
    tip = [(x, top + head), (x + 72, top + head), (x + 36, top)] if up else \
        [(x, bottom - head), (x + 72, bottom - head), (x + 36, bottom)]
    draw.rectangle(shaft, fill=colour)
    draw.polygon(tip, fill=colour)


def draw_icon(size: int = 256) -> Image.Image:
    image = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((8, 8, 248, 248), radius=44, fill=TILE)
    _arrow(draw, 44, True, LONG)
    _arrow(draw, 140, False, SHORT)
    return image if size == 256 else image.resize((size, size), Image.LANCZOS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ICON_PATH)
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    draw_icon().save(args.out, format="ICO", sizes=SIZES)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
