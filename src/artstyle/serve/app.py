"""The Gradio app of ``artstyle serve``: one tab per thing the given runs can do.

Usage::

    demo = build_app(artstyle.load(pipeline), map_method="pca")
    launch(demo, host="127.0.0.1", port=7860, max_queue=32)        # blocks until Ctrl-C

Tabs: Classify, Re-render, Style map, Generate, Report. A tab whose runs are missing is left out and the page
says in one line which command makes them; Generate is always there and explains how to get a LoRA run. The
endpoints ``/classify``, ``/rerender``, ``/style_map`` and ``/generate`` are also the app's API
(``gradio_client``). This module imports gradio; the CLI imports it only when serving.
"""

import html
import os
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no telemetry calls from a local tool

import gradio as gr  # noqa: E402

from artstyle.api.images import MAX_UPLOAD_BYTES  # noqa: E402
from artstyle.serve.handlers import Handlers  # noqa: E402
from artstyle.styles import display_name  # noqa: E402

CONCURRENCY = max(1, min(4, os.cpu_count() or 1))
"""Requests computed side by side; the rest wait in the queue."""
TAB_OF = {"classify": "Classify", "stylize": "Re-render", "embeddings": "Style map", "report": "Report"}
LORA_HELP = """No LoRA run was given, so there is nothing to paint with yet. A LoRA run fine-tunes a pretrained
Stable-Diffusion-class model on the styles:

    artstyle lora train --pretrained stable-diffusion-v1-5/stable-diffusion-v1-5 --data DATA
    artstyle run --pretrained MODEL            # or the whole pipeline, with the LoRA stage

then serve it too: `artstyle serve PIPELINE_DIR runs/lora/<run>` (see docs/lora.md)."""


def header(studio: Any) -> str:
    """The page's first lines: what was loaded, and one line per missing run naming the command that makes it."""
    f = studio.found
    given = f.pipeline or f.classify or f.stylize or (studio.embeddings[0] if studio.embeddings else None)
    head = [f"## artstyle\nRuns: `{given}`" if given else "## artstyle"]
    if f.classify is not None and studio.classifier.synthetic:
        head.append("The classifier was trained on the SYNTHETIC built-in dataset: its styles are painted "
                    "stand-ins, not real art.")
    missing = [f"- *{TAB_OF[part]}*: no {part} run given; make one with `{command}`"
               for part, command in studio.missing().items() if part in TAB_OF]
    return "\n\n".join(head + (["\n".join(missing)] if missing else []))


def _upload(elem_id: str) -> Any:
    return gr.File(label="Image (JPEG, PNG, WebP, ...)", type="binary", file_count="single", elem_id=elem_id)


def classify_tab(h: Handlers) -> None:
    with gr.Tab("Classify", id="classify"):
        with gr.Row():
            with gr.Column():
                upload = _upload("classify-upload")
                button = gr.Button("Classify", variant="primary")
            with gr.Column():
                label = gr.Label(num_top_classes=5, label="Top-5 styles", elem_id="classify-label")
                note = gr.Markdown()
            overlay = gr.Image(label="Crop votes for the top style", format="png", interactive=False,
                               elem_id="classify-overlay")
        neighbours = gr.Gallery(label="8 nearest training images (classifier features)", columns=8, height=180,
                                format="png", elem_id="classify-neighbours")
        with gr.Accordion("Details (JSON)", open=False):
            details = gr.JSON()
        outputs = [label, overlay, note, neighbours, details]
        button.click(h.classify, upload, outputs, api_name="classify")
        upload.upload(h.classify, upload, outputs, api_visibility="private")


def rerender_tab(h: Handlers) -> None:
    classes = h.studio.stylizer.classes
    with gr.Tab("Re-render", id="rerender"):
        with gr.Row():
            with gr.Column():
                upload = _upload("rerender-upload")
            with gr.Column():
                styles = gr.Dropdown([(display_name(c), c) for c in classes], value=[], multiselect=True,
                                     label="Target styles (none chosen: all)")
                strength = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Strength (0: the image's own style, "
                                     "1: the target style)")
                button = gr.Button("Re-render", variant="primary", elem_id="rerender-button")
        gallery = gr.Gallery(label="Re-rendered", columns=6, height="auto", format="png", elem_id="rerender-gallery")
        download = gr.DownloadButton("Download the full-size PNGs (zip)")
        with gr.Accordion("Details (JSON)", open=False):
            details = gr.JSON()
        button.click(h.rerender, [upload, styles, strength], [gallery, download, details], api_name="rerender")


def map_tab(h: Handlers) -> None:
    files = list(h.map_files())
    first = files[0]
    image, legend_html, points = h.style_map(first, [])
    classes = h.view(first).classes
    with gr.Tab("Style map", id="map"):
        with gr.Row():
            choice = gr.Dropdown(files, value=first, label="Embeddings file")
            styles = gr.Dropdown([(display_name(c), c) for c in classes], value=[], multiselect=True,
                                 label="Show styles (none chosen: all)")
        with gr.Row():
            canvas = gr.Image(image, label="Style map (click a point)", format="png", interactive=False, scale=3,
                              elem_id="style-map")
            with gr.Column(scale=1):
                thumb = gr.Image(label="Selected image", format="png", interactive=False, height=180)
                info = gr.Markdown("Click a point of the map.")
        legend = gr.HTML(legend_html)
        with gr.Accordion("Points (JSON)", open=False):
            data = gr.JSON(points)
        outputs = [canvas, legend, data]
        choice.change(h.style_map, [choice, styles], outputs, api_name="style_map")
        styles.change(h.style_map, [choice, styles], outputs, api_visibility="private")

        def pick(choice: str, styles: list, evt: gr.SelectData) -> tuple:
            x, y = evt.index
            return h.pick(choice, styles, float(x), float(y))

        canvas.select(pick, [choice, styles], [canvas, thumb, info], api_visibility="private")


def generate_tab(h: Handlers) -> None:
    with gr.Tab("Generate", id="generate"):
        if not h.studio.available()["lora"]:
            gr.Markdown(LORA_HELP)
            return
        painter = h.studio.painter
        gr.Markdown(f"LoRA run `{painter.run}` on `{painter.pretrained}`, {painter.size} px, on {painter.device}"
                    + (" (a CPU takes minutes per image at 512 px)." if painter.device == "cpu" else "."))
        with gr.Row():
            style = gr.Dropdown([(display_name(s), s) for s in painter.styles], value=painter.styles[0], label="Style")
            template = gr.Textbox(painter.template, label="Prompt template ({style} is replaced)")
        with gr.Row():
            n = gr.Slider(1, 4, value=1, step=1, label="Images")
            steps = gr.Slider(1, 50, value=20, step=1, label="Denoising steps")
            seed = gr.Number(0, precision=0, label="Seed (image i uses seed + i)")
        button = gr.Button("Paint", variant="primary")
        gallery = gr.Gallery(label="Paintings", columns=4, format="png")
        # one painting at a time: a diffusers pipeline (its scheduler) is not safe to share between threads
        button.click(h.generate, [style, template, n, steps, seed], gallery, api_name="generate", concurrency_limit=1)


def report_tab(studio: Any) -> None:
    with gr.Tab("Report", id="report"):
        gr.Markdown(f"`{studio.report}`, as written by `artstyle report` (self-contained: figures embedded).")
        page = html.escape(studio.report.read_text(encoding="utf-8"), quote=True)
        gr.HTML(f'<iframe title="report" srcdoc="{page}" style="width:100%;height:80vh;border:1px solid #ddd">'
                "</iframe>", js_on_load=None)


def build_app(studio: Any, map_method: str = "auto") -> gr.Blocks:
    """The Blocks app over ``studio`` (an :class:`artstyle.api.Studio`); models load here, before serving."""
    h = Handlers(studio, map_method)
    ok = studio.available()
    # every result image is a file in gradio's cache: an hourly sweep drops those older than an hour
    with gr.Blocks(title="artstyle", delete_cache=(3600, 3600)) as demo:
        gr.Markdown(header(studio))
        with gr.Tabs():
            if ok["classify"]:
                _ = studio.gallery  # load the classifier and its neighbours now, not on the first request
                classify_tab(h)
            if ok["stylize"]:
                rerender_tab(h)
            if ok["embeddings"]:
                map_tab(h)
            generate_tab(h)
            if ok["report"]:
                report_tab(studio)
    return demo


def launch(demo: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, max_queue: int = 32,
           block: bool = True) -> Any:
    """Serve ``demo`` on ``host:port`` with a request queue of at most ``max_queue`` waiting events.

    ``CONCURRENCY`` requests compute at once (one torch thread each, see ``serve``). Never a public share link;
    uploads above ``MAX_UPLOAD_BYTES`` are refused by gradio before any handler runs.
    With ``block`` False it returns at once (tests); ``demo.close()`` stops it.
    """
    demo.queue(max_size=max_queue, default_concurrency_limit=CONCURRENCY)
    return demo.launch(server_name=host, server_port=port, share=False, prevent_thread_lock=not block,
                       max_file_size=MAX_UPLOAD_BYTES, show_error=True, quiet=not block, ssr_mode=False,
                       mcp_server=False, footer_links=["api"])


__all__ = ["build_app", "header", "launch"]
