"""A grouped bar chart written straight to PNG (zlib + struct), so the benchmark needs no plotting package."""

import struct
import zlib

# A 5x7 bitmap font: the characters the chart's labels use. Lowercase is drawn as uppercase.
FONT = {
    " ": [".....", ".....", ".....", ".....", ".....", ".....", "....."],
    "A": [".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"],
    "B": ["####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."],
    "C": [".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."],
    "D": ["####.", "#...#", "#...#", "#...#", "#...#", "#...#", "####."],
    "E": ["#####", "#....", "#....", "####.", "#....", "#....", "#####"],
    "F": ["#####", "#....", "#....", "####.", "#....", "#....", "#...."],
    "G": [".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"],
    "H": ["#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"],
    "I": [".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."],
    "J": ["..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."],
    "K": ["#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"],
    "L": ["#....", "#....", "#....", "#....", "#....", "#....", "#####"],
    "M": ["#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"],
    "N": ["#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#"],
    "O": [".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."],
    "P": ["####.", "#...#", "#...#", "####.", "#....", "#....", "#...."],
    "Q": [".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"],
    "R": ["####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"],
    "S": [".####", "#....", "#....", ".###.", "....#", "....#", "####."],
    "T": ["#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."],
    "U": ["#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."],
    "V": ["#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."],
    "W": ["#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."],
    "X": ["#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"],
    "Y": ["#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."],
    "Z": ["#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"],
    "0": [".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."],
    "1": ["..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."],
    "2": [".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"],
    "3": ["#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."],
    "4": ["...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."],
    "5": ["#####", "#....", "####.", "....#", "....#", "#...#", ".###."],
    "6": ["..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."],
    "7": ["#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."],
    "8": [".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."],
    "9": [".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."],
    ".": [".....", ".....", ".....", ".....", ".....", ".##..", ".##.."],
    ",": [".....", ".....", ".....", ".....", ".##..", "..#..", ".#..."],
    ":": [".....", ".##..", ".##..", ".....", ".##..", ".##..", "....."],
    "-": [".....", ".....", ".....", "#####", ".....", ".....", "....."],
    "+": [".....", "..#..", "..#..", "#####", "..#..", "..#..", "....."],
    "=": [".....", ".....", "#####", ".....", "#####", ".....", "....."],
    "/": [".....", "....#", "...#.", "..#..", ".#...", "#....", "....."],
    "(": ["...#.", "..#..", ".#...", ".#...", ".#...", "..#..", "...#."],
    ")": [".#...", "..#..", "...#.", "...#.", "...#.", "..#..", ".#..."],
    "%": ["##...", "##..#", "...#.", "..#..", ".#...", "#..##", "...##"],
    "_": [".....", ".....", ".....", ".....", ".....", ".....", "#####"],
    "'": ["..#..", "..#..", ".#...", ".....", ".....", ".....", "....."],
    "?": [".###.", "#...#", "....#", "...#.", "..#..", ".....", "..#.."],
}

WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
GREY = (200, 200, 200)
DARK_GREY = (110, 110, 110)
RED = (200, 40, 40)


class Canvas:
    def __init__(self, width, height, background=WHITE):
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(background) * (width * height))

    def rect(self, x0, y0, x1, y1, color):
        x0, x1 = max(0, min(x0, x1)), min(self.width, max(x0, x1))
        y0, y1 = max(0, min(y0, y1)), min(self.height, max(y0, y1))
        row = bytes(color) * (x1 - x0)
        for y in range(y0, y1):
            start = (y * self.width + x0) * 3
            self.pixels[start:start + len(row)] = row

    def hline(self, x0, x1, y, color, dash=0):
        for x in range(x0, x1):
            if not dash or (x // dash) % 2 == 0:
                self.rect(x, y, x + 1, y + 1, color)

    def text(self, x, y, text, color=BLACK, scale=2):
        for ch in text.upper():
            glyph = FONT.get(ch, FONT["?"])
            for gy, line in enumerate(glyph):
                for gx, bit in enumerate(line):
                    if bit == "#":
                        self.rect(x + gx * scale, y + gy * scale, x + (gx + 1) * scale, y + (gy + 1) * scale, color)
            x += 6 * scale

    @staticmethod
    def text_width(text, scale=2):
        return len(text) * 6 * scale - scale

    def png(self):
        rows = b"".join(b"\x00" + bytes(self.pixels[y * self.width * 3:(y + 1) * self.width * 3]) for y in range(self.height))

        def chunk(kind, data):
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def bar_chart(path, title, groups, series, values, reference=1.0, footnote=""):
    """groups: labels along x; series: [(name, color)]; values[g][s]: a number or None (drawn as 'n/a')."""
    width, height = 1200, 620
    left, right, top, bottom = 90, 30, 80, 150
    canvas = Canvas(width, height)
    canvas.text((width - Canvas.text_width(title)) // 2, 20, title)

    finite = [v for row in values for v in row if v is not None]
    top_value = max(finite + [reference]) * 1.15
    plot_h = height - top - bottom

    def y_of(v):
        return top + plot_h - int(plot_h * v / top_value)

    step = nice_step(top_value / 6)
    tick = 0.0
    while tick <= top_value:
        y = y_of(tick)
        canvas.hline(left, width - right, y, GREY)
        label = f"{tick:g}"
        canvas.text(left - 10 - Canvas.text_width(label), y - 7, label, DARK_GREY)
        tick += step
    canvas.rect(left, top, left + 2, top + plot_h + 1, BLACK)
    canvas.hline(left, width - right, top + plot_h, BLACK)
    canvas.hline(left, width - right, y_of(reference), RED, dash=8)

    group_w = (width - left - right) // len(groups)
    bar_w = min(60, (group_w - 30) // len(series))
    for g, label in enumerate(groups):
        gx = left + g * group_w + (group_w - bar_w * len(series)) // 2
        for s, (_, color) in enumerate(series):
            v = values[g][s]
            x = gx + s * bar_w
            if v is None:
                canvas.text(x + 4, top + plot_h - 20, "N/A", DARK_GREY, scale=1)
                continue
            canvas.rect(x + 2, y_of(v), x + bar_w - 2, top + plot_h, color)
            text = f"{v:.2f}" if v < 10 else f"{v:.1f}"
            canvas.text(x + (bar_w - Canvas.text_width(text, 1)) // 2, y_of(v) - 12, text, BLACK, scale=1)
        for i, line in enumerate(label.split("\n")):
            canvas.text(left + g * group_w + (group_w - Canvas.text_width(line, 1)) // 2, top + plot_h + 12 + i * 12, line, BLACK, scale=1)

    lx = left
    for name, color in series:
        canvas.rect(lx, height - 70, lx + 20, height - 56, color)
        canvas.text(lx + 28, height - 70, name)
        lx += 60 + Canvas.text_width(name)
    canvas.hline(lx, lx + 20, height - 63, RED, dash=4)
    canvas.text(lx + 28, height - 70, f"PARITY {reference:g}", RED)
    if footnote:
        canvas.text(left, height - 30, footnote, DARK_GREY, scale=1)
    with open(path, "wb") as f:
        f.write(canvas.png())


def nice_step(raw):
    magnitude = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 0.1
    while magnitude > raw:
        magnitude /= 10
    for m in (1, 2, 2.5, 5, 10):
        if magnitude * m >= raw:
            return magnitude * m
    return magnitude * 10
