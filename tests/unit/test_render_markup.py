"""Progress texts and error messages quote plan text such as "[haproxy]": they are shown as written."""

from __future__ import annotations

import io

from rich.console import Console

from spinout.cli.render import RichProgressSink
from spinout.progress import Progress


def test_progress_texts_are_not_markup() -> None:
    out = io.StringIO()
    sink = RichProgressSink(Console(file=out, width=200, color_system=None))
    progress = Progress(sink)
    progress.start("t", "copying [pools]", total=2)
    progress.note("section [haproxy] moved to [/etc/x]")
    progress.warn("[bold]not bold[/bold]")
    progress.finish("t", "done with [radware]")
    sink.close()
    text = out.getvalue()
    assert "section [haproxy] moved to [/etc/x]" in text
    assert "warning: [bold]not bold[/bold]" in text
    assert "done with [radware]" in text
