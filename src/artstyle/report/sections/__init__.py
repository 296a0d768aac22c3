"""The report's sections, one module each, in the order the report shows them.

Usage: ``for section in SECTIONS: section(doc, found)``; each writes its ``##`` heading first, then either its
tables and figures or one line saying the stage was not run.
"""

from __future__ import annotations

from artstyle.report.sections.classify import section_classifier
from artstyle.report.sections.cluster import section_clustering
from artstyle.report.sections.data import section_dataset
from artstyle.report.sections.embed import section_autoencoder
from artstyle.report.sections.lora import section_lora
from artstyle.report.sections.reproduce import section_environment
from artstyle.report.sections.stylize import section_stylization

SECTION_TITLES = ("The dataset", "The classifier", "The autoencoder", "Clustering", "Stylization", "LoRA",
                  "The environment")
"""The ``##`` headings of the report, in order (each section writes its own)."""

SECTIONS = (section_dataset, section_classifier, section_autoencoder, section_clustering, section_stylization,
            section_lora, section_environment)

__all__ = ["SECTIONS", "SECTION_TITLES"]
