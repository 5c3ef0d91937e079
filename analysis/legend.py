"""How the report names labels: one colour, one letter and one line of meaning per label.

The colours stay apart under colour-blindness (a test checks every pair under simulated
deuteranopia and protanopia): bluish green and orange from Okabe & Ito (2008), purple,
sky blue and indigo from Tol's palette, and a neutral grey for `unconverged`, which is
neither a success nor a failure. Each label also has a letter, printed in its cells, so
that the colour is never the only cue. `DEFINITIONS` are the one-line meanings of
docs/labels.md "What each label means" (a test keeps them in step with the doc).
"""

from __future__ import annotations

from study.schema import LABELS

COLOURS = {
    "converged": "#009E73",  # bluish green
    "oscillating": "#E69F00",  # orange
    "collapsed": "#AA4499",  # purple
    "vanishing": "#56B4E9",  # sky blue
    "diverged": "#332288",  # indigo
    "unconverged": "#BBBBBB",  # neutral grey
}
LETTERS = {
    "converged": "C",
    "oscillating": "O",
    "collapsed": "M",  # mode collapse
    "vanishing": "V",
    "diverged": "D",
    "unconverged": "U",
}
# A cell whose trials hold no clear majority: white under its stripes of label shares.
MIXED = "mixed"
MIXED_COLOUR = "#FFFFFF"
EMPTY_COLOUR = "#F4F4F4"  # a cell with no trials (grid maps): no colour, no letter

# One line per label, in the words of docs/labels.md "What each label means".
DEFINITIONS = {
    "diverged": "the numbers broke: NaN/Inf, a loss or gradient exploded, or the samples "
    "flew off to enormous values",
    "vanishing": "the discriminator won and the generator stopped learning: D(G(z)) pinned "
    "near 0, G's gradient fell by orders of magnitude, the samples are poor",
    "collapsed": "the samples concentrate on a subset of the modes and stay concentrated "
    "(complete: essentially one mode; partial: clearly not all, or most mass on a few)",
    "oscillating": "the generator does not settle: the samples or the mass on the modes "
    "move substantially, over and over, or the losses cycle without dying out",
    "converged": "every mode present with roughly the data's balance, the samples on the "
    "modes, and the picture stable over the last part of the run",
    "unconverged": "none of the above: still improving when the budget ran out, or stuck "
    "in a state that is neither converged nor a failure",
}
PRECEDENCE = ("diverged", "vanishing", "collapsed", "oscillating", "converged", "unconverged")


def ink(colour: str) -> str:
    """Black or white text, whichever reads better on `colour` ("#RRGGBB")."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return "#000000" if 0.299 * red + 0.587 * green + 0.114 * blue > 140 else "#FFFFFF"


def code(labels: list[str]) -> str:
    """The letter code of a cell: one letter for a clear label, the letters of the
    labels present joined by "/" for a mixed cell (in LABELS order)."""
    return "/".join(LETTERS[label] for label in LABELS if label in labels)
