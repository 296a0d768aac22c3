"""The built-in procedurally painted dataset: artstyle's stand-in for WikiArt's 27 styles.

Usage::

    from artstyle.data.synth import paint, write_builtin
    img = paint("Pointillism", np.random.default_rng(0), size=128)   # uint8 (128, 128, 3)
    write_builtin(Path("/tmp/builtin"), scale=0.1)                   # OUT/{train,test}/<Style>/*.jpg + marker

Every style has a small procedural painter that imitates its namesake's visual signature: dots of pure
colour, faceted planes, dark outlines, drips, halftone dots, chiaroscuro, and so on. Palettes are shared
between styles, jittered and sometimes swapped, so colour alone is a weak cue and the styles have to be told
apart by texture and structure. Related styles (the Renaissances, the Cubisms, the Realisms, the
Impressionisms) share one painter with different parameters, so they are confusable the way the real ones are.

Where things are: ``primitives`` (array helpers on (3, S, S) float32 planes), ``palettes``, ``brushes``
(brush marks), ``regions`` (flat shapes and shared motifs), one module per family of painters
(``impressionist``, ``cubist``, ``old_masters``, ``realist``, ``abstract``, ``graphic``), ``registry``
(style name -> painter, and ``paint``) and ``writer`` (class counts, the on-disk layout, ``write_builtin``).
Everything is vectorised numpy plus a few Pillow drawing calls per image; no torch.
"""

from artstyle.data.synth.registry import paint
from artstyle.data.synth.writer import SYNTH_VERSION, class_counts, write_builtin

__all__ = ["SYNTH_VERSION", "class_counts", "paint", "write_builtin"]
