"""Writes what `make present` serves, from wd_helpers.widgets.presenter.EXHIBITS (one list for all of it):

- presenter/explorers/<lesson number>_<key>.ipynb: one small notebook per explorer, the Voilà page
  that shows it (a link back to the gallery and to the full lesson, then ``present(key)``);
- the gallery, the page `make present` opens: presenter/jupyter/voila/templates/course/gallery.html, which
  the course template's tree.html shows at the root (one card per explorer, then the full lessons);
- each explorer's thumbnail (static/thumbnails/<key>.png beside it), drawn from the explorer itself;
- presenter/voila.json's kernel pools: one pre-heated kernel per explorer page (it opens in about a
  second instead of the ~5 s a kernel takes to start and import torch), none for the full lessons.

Run it after changing EXHIBITS: ``.venv/bin/python presenter/build.py`` (tests/test_presenter.py fails
while a written file differs from what this would write; thumbnails are only checked to exist).
"""

import html
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRESENTER = ROOT / "presenter"
EXPLORER_PAGES = PRESENTER / "explorers"
TEMPLATE = PRESENTER / "jupyter" / "voila" / "templates" / "course"
GALLERY = TEMPLATE / "gallery.html"
THUMBNAILS = TEMPLATE / "static" / "thumbnails"
VOILA_CONFIG = PRESENTER / "voila.json"
THUMBNAIL_WIDTH = 480  # px


def _exhibits():
    from wd_helpers.widgets.presenter import EXHIBITS

    return EXHIBITS


def lesson_title(lesson: str) -> str:
    """A lesson's title: its first heading, without the '#'."""
    notebook = json.loads((ROOT / "notebooks" / lesson).read_text())
    first_line = "".join(notebook["cells"][0]["source"]).splitlines()[0]
    return first_line.lstrip("#").strip()


def page_name(exhibit) -> str:
    return Path(exhibit.page).name


def page_notebook(exhibit) -> str:
    """The explorer's page: links back, then the explorer (JSON text, no outputs)."""
    links = (f"[← all explorers](../../../..) · from the lesson "
             f"[{lesson_title(exhibit.lesson)}](../../notebooks/{exhibit.lesson})")
    code = f'%matplotlib widget\nfrom wd_helpers.widgets.presenter import present\n\npresent("{exhibit.key}")'
    cells = [
        {"cell_type": "markdown", "id": "links", "metadata": {}, "source": links},
        {"cell_type": "code", "id": "explorer", "metadata": {}, "execution_count": None, "outputs": [], "source": code},
    ]
    notebook = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
            "title": exhibit.title,
        },
        "nbformat": 4, "nbformat_minor": 5,
    }
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def gallery_html() -> str:
    """The gallery fragment (Jinja: base_url comes from the tree page that includes it)."""
    cards = []
    for exhibit in _exhibits().values():
        page = f"{{{{ base_url }}}}voila/render/{exhibit.page}"
        lesson = f"{{{{ base_url }}}}voila/render/notebooks/{exhibit.lesson}"
        cards.append(
            f'  <li class="course-card">\n'
            f'    <a class="course-card-page" href="{page}">'
            f'<img src="{{{{ base_url }}}}voila/templates/course/static/thumbnails/{exhibit.key}.png" alt="" '
            f'width="{THUMBNAIL_WIDTH // 2}">\n'
            f'      <span class="course-card-title">{html.escape(exhibit.title)}</span></a>\n'
            f'    <span class="course-card-shows">{html.escape(exhibit.shows)}</span>\n'
            f'    <a class="course-card-lesson" href="{lesson}">lesson {html.escape(exhibit.lesson.removesuffix(".ipynb"))}</a>\n'
            f'  </li>')
    lessons = [
        f'  <li><a href="{{{{ base_url }}}}voila/render/notebooks/{path.name}">{html.escape(path.stem)}</a>: '
        f'{html.escape(lesson_title(path.name))}</li>'
        for path in sorted((ROOT / "notebooks").glob("*.ipynb"))
    ]
    return ("<!-- written by presenter/build.py from wd_helpers.widgets.presenter.EXHIBITS: do not edit -->\n"
            '<h1 class="course-gallery-heading">The course\'s explorers</h1>\n'
            '<p class="course-gallery-note">Each opens as its own page, sized for a projector, with the lesson\'s '
            'moments one click away.</p>\n'
            '<ul class="course-gallery">\n' + "\n".join(cards) + "\n</ul>\n"
            '<h2 class="course-gallery-heading">Full lessons</h2>\n'
            '<p class="course-gallery-note">Each lesson as a dashboard: prose, plots and explorers, no code '
            '(it runs the whole notebook first: 5 to 25 s).</p>\n'
            '<ul class="course-lessons">\n' + "\n".join(lessons) + "\n</ul>\n")


def voila_config(current: dict) -> dict:
    """presenter/voila.json with one pre-heated kernel per explorer page and none for anything else."""
    pools = {"default": {"pool_size": 0}}
    pools.update({exhibit.page: {"pool_size": 1} for exhibit in _exhibits().values()})
    config = dict(current)
    config["VoilaKernelManager"] = {**current.get("VoilaKernelManager", {}), "kernel_pools_config": pools}
    return config


def written() -> dict[Path, str]:
    """Every text file this script writes, and its content."""
    files = {ROOT / exhibit.page: page_notebook(exhibit) for exhibit in _exhibits().values()}
    files[GALLERY] = gallery_html()
    files[VOILA_CONFIG] = json.dumps(voila_config(json.loads(VOILA_CONFIG.read_text())), indent=2,
                                     ensure_ascii=False) + "\n"
    return files


def write_thumbnails() -> None:
    """Each explorer as it opens, rendered off-screen (Agg) and scaled to THUMBNAIL_WIDTH."""
    import io

    import matplotlib
    import PIL.Image

    matplotlib.use("Agg")
    from wd_helpers.widgets.presenter import present

    THUMBNAILS.mkdir(parents=True, exist_ok=True)
    for key in _exhibits():
        shown = present(key)
        image = PIL.Image.open(io.BytesIO(shown.explorer.live.png()))
        height = round(image.height * THUMBNAIL_WIDTH / image.width)
        image.resize((THUMBNAIL_WIDTH, height), PIL.Image.LANCZOS).save(THUMBNAILS / f"{key}.png", optimize=True)
        shown.explorer.close()


def main(argv) -> int:
    EXPLORER_PAGES.mkdir(parents=True, exist_ok=True)
    keep = set()
    for path, text in written().items():
        keep.add(path)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    for stale in set(EXPLORER_PAGES.glob("*.ipynb")) - keep:  # an explorer removed from EXHIBITS
        stale.unlink()
        print(f"removed {stale.relative_to(ROOT)}")
    if "--no-thumbnails" not in argv:
        write_thumbnails()
        print(f"wrote {len(_exhibits())} thumbnails in {THUMBNAILS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
