"""The report: ``report.md`` and a self-contained ``report.html`` written from run directories alone.

Usage::

    write_report([Path("runs/pipeline/<ts>-demo")])                 # into the pipeline directory
    write_report([stats_run, classify_run, embed_run, cluster_run], out=Path("my-report"))
    artstyle report RUN... [--out DIR]

It reads run directories (``config.json``, ``metrics.json``, ``comparison.json``, ``stats.json``, figures)
and never trains or evaluates anything. A pipeline directory is expanded through its ``pipeline.json``;
every other run says what it is through the ``stage`` its config.json records (``find``; runs written
before that are inferred in ``legacy``). Sections (``sections/``, one module each): the dataset, the
classifier, the autoencoder, clustering, stylization, LoRA and the environment; a stage that was not run
gets one line saying so. Every sentence that draws a conclusion (e.g. "do styles cluster?") is computed
from the numbers. ``document.Doc`` renders the same blocks as Markdown and as HTML, where every figure is
embedded as a base64 PNG, so the file can be mailed or archived on its own.
"""

from artstyle.report.document import Doc
from artstyle.report.find import Found, find_runs, run_kind, stage_command
from artstyle.report.sections import SECTION_TITLES
from artstyle.report.write import build_report, write_report

__all__ = ["Doc", "Found", "build_report", "find_runs", "run_kind", "stage_command", "write_report",
           "SECTION_TITLES"]
