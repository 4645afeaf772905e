"""A report as a list of plain blocks, rendered once as self-contained HTML and once as Markdown."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Paragraph:
    text: str


@dataclass
class Table:
    headers: list[str]
    rows: list[list]


@dataclass
class Figure:
    path: Path
    caption: str


_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:0.9em}th,td{border:1px solid #ccc;padding:3px 8px}
th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;border:1px solid #eee}figcaption{color:#555;font-size:0.9em}
.met{color:#176f2c;font-weight:bold}.missed{color:#b3261e;font-weight:bold}"""


def cell(value) -> str:
    """One table cell as text: floats with four significant decimals, None as a dash."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e-3 or abs(value) >= 1e5 else f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def to_html(title: str, blocks: list) -> str:
    """A single HTML file: the figures are embedded as base64 data URIs."""
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
           f"<h1>{html.escape(title)}</h1>"]
    for b in blocks:
        if isinstance(b, Heading):
            out.append(f"<h{b.level}>{html.escape(b.text)}</h{b.level}>")
        elif isinstance(b, Paragraph):
            text = html.escape(b.text)
            for word, css in (("NOT MET", "missed"), ("MET", "met")):
                if word in text:
                    text = text.replace(word, f'<span class="{css}">{word}</span>', 1)
                    break
            out.append(f"<p>{text}</p>")
        elif isinstance(b, Table):
            out.append("<table><thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in b.headers)
                       + "</tr></thead><tbody>")
            for row in b.rows:
                out.append("<tr>" + "".join(
                    f'<td class="num">{html.escape(cell(v))}</td>' if _is_number(v)
                    else f"<td>{html.escape(cell(v))}</td>" for v in row) + "</tr>")
            out.append("</tbody></table>")
        elif isinstance(b, Figure):
            data = base64.b64encode(Path(b.path).read_bytes()).decode("ascii")
            out.append(f'<figure><img alt="{html.escape(b.caption)}" src="data:image/png;base64,{data}">'
                       f"<figcaption>{html.escape(b.caption)}</figcaption></figure>")
    out.append(f"<script>{_IMAGE_CHECK}</script></body></html>")
    return "\n".join(out) + "\n"


# Once the page has loaded: every figure that failed to decode says so in place, and the page records
# "loaded/total" images on <html data-images> (what the browser test reads).
_IMAGE_CHECK = """window.addEventListener("load", function () {
  var imgs = document.images, ok = 0;
  for (var i = 0; i < imgs.length; i++) {
    if (imgs[i].complete && imgs[i].naturalWidth > 0) { ok++; continue; }
    var note = document.createElement("p");
    note.className = "missed";
    note.textContent = "figure could not be shown: " + imgs[i].alt;
    imgs[i].parentNode.insertBefore(note, imgs[i]);
  }
  document.documentElement.setAttribute("data-images", ok + "/" + imgs.length);
});"""


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(title: str, blocks: list) -> str:
    """The same report in Markdown; figures are referenced by file name (they lie beside it)."""
    out = [f"# {title}", ""]
    for b in blocks:
        if isinstance(b, Heading):
            out += ["#" * b.level + " " + b.text, ""]
        elif isinstance(b, Paragraph):
            out += [b.text, ""]
        elif isinstance(b, Table):
            out.append("| " + " | ".join(_md_escape(h) for h in b.headers) + " |")
            out.append("|" + "|".join("---:" if any(_is_number(r[k]) for r in b.rows) else "---"
                                      for k in range(len(b.headers))) + "|")
            out += ["| " + " | ".join(_md_escape(cell(v)) for v in row) + " |" for row in b.rows]
            out.append("")
        elif isinstance(b, Figure):
            out += [f"![{b.caption}]({Path(b.path).name})", ""]
    return "\n".join(out)
