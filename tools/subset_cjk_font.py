#!/usr/bin/env python3
"""Regenerates crates/docs/fonts/NotoSansSC-Subset.otf and OFL.txt.

The subset is Noto Sans CJK SC Regular (SIL OFL 1.1, from Debian's
fonts-noto-cjk) reduced to: printable ASCII and Latin-1, general and CJK
punctuation, full-width forms, every hanzi of GB 2312 (enumerated through
Python's gb2312 codec), and every other character the templates in
crates/docs/templates use. Names outside the subset fall back to a
configured full font (see crates/docs/src/lib.rs).

Usage:  pip install fonttools && python3 tools/subset_cjk_font.py
        [--font /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc]
"""

import argparse
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "crates" / "docs" / "fonts"
TEMPLATES = ROOT / "crates" / "docs" / "templates"
COPYRIGHT = pathlib.Path("/usr/share/doc/fonts-noto-cjk/copyright")


def gb2312_chars():
    """Every character GB 2312 encodes (rows 0xA1..0xF7, cells 0xA1..0xFE)."""
    out = set()
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                out.add(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return out


def template_chars():
    out = set()
    for p in sorted(TEMPLATES.glob("*")):
        if p.is_file():
            out.update(p.read_text(encoding="utf-8"))
    return {c for c in out if ord(c) >= 0x20}


def ranges():
    r = set()
    for lo, hi in [
        (0x20, 0x7E),      # ASCII
        (0xA0, 0xFF),      # Latin-1
        (0x2000, 0x206F),  # general punctuation (— … ‘’ “”)
        (0x2160, 0x216F),  # roman numerals
        (0x2460, 0x2473),  # circled numbers
        (0x3000, 0x303F),  # CJK symbols and punctuation
        (0x3200, 0x32FF),  # enclosed CJK
        (0xFE30, 0xFE4F),  # CJK compatibility forms
        (0xFF00, 0xFFEF),  # half-width and full-width forms
    ]:
        r.update(chr(c) for c in range(lo, hi + 1))
    return r


def ofl_text():
    """The OFL text from Debian's copyright file, with the upstream notice."""
    lines = COPYRIGHT.read_text(encoding="utf-8").splitlines()
    start = max(i for i, l in enumerate(lines) if l.strip() == "License: SIL-1.1")
    body = []
    for l in lines[start + 1:]:
        if l and not l.startswith(" "):
            break
        l = l[1:] if l.startswith(" ") else l
        body.append("" if l == "." else l)
    head = [
        "Noto Sans CJK SC — Copyright 2014-2021 Adobe (http://www.adobe.com/),",
        "with Reserved Font Name 'Source'. Upstream: https://github.com/googlefonts/noto-cjk",
        "The file NotoSansSC-Subset.otf is a subset of NotoSansCJK-Regular.ttc",
        "(face 'Noto Sans CJK SC'), made by tools/subset_cjk_font.py; it is",
        "licensed under the SIL Open Font License, Version 1.1, below.",
        "",
    ]
    return "\n".join(head + body).rstrip() + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--font", default="/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
    ap.add_argument("--face", type=int, default=2, help="index of 'Noto Sans CJK SC' in the TTC")
    a = ap.parse_args()
    chars = gb2312_chars() | template_chars() | ranges()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    text_file = OUT_DIR / "subset-chars.txt"
    text_file.write_text("".join(sorted(chars)), encoding="utf-8")
    out = OUT_DIR / "NotoSansSC-Subset.otf"
    cmd = [
        sys.executable, "-m", "fontTools.subset", a.font,
        f"--font-number={a.face}",
        f"--text-file={text_file}",
        f"--output-file={out}",
        "--layout-features=*",
        "--no-hinting",
        "--name-IDs=*",
        "--name-languages=*",
    ]
    subprocess.run(cmd, check=True)
    text_file.unlink()
    (OUT_DIR / "OFL.txt").write_text(ofl_text(), encoding="utf-8")
    print(f"{out}: {out.stat().st_size} bytes, {len(chars)} characters requested")


if __name__ == "__main__":
    main()
