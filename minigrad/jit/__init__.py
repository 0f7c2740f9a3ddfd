"""``minigrad.jit``: capture a training step once, then replay it as a flat program over numpy (or cupy) arrays.

:func:`jit` (in :mod:`.jitted`) traces fn's second call with given inputs: :mod:`.capture` runs it with
:mod:`.patches` swapped in, handing it :class:`Traced` arrays (:mod:`.traced`; on a GPU, the proxies of
:mod:`.device`) whose operations are recorded;
:mod:`.program` writes the record as a Python :class:`Program`, which later calls replay while its guards
hold (a failing one raises :class:`Stale` and the call is traced again). See ``docs/jit.md``.
"""

from . import device as device
from .jitted import MAX_TRACES as MAX_TRACES
from .jitted import Jitted as Jitted
from .jitted import jit as jit
from .program import Program as Program
from .program import Stale as Stale
from .traced import NotCapturable as NotCapturable
from .traced import Traced as Traced

__all__ = ["jit"]
