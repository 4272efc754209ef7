"""convergent: delta-state CRDTs with a C++ core.

The value classes are defined in the compiled ``convergent._core`` under the module name
``convergent`` (so repr and pickle name them ``convergent.ORSet``), and re-exported here.

Values (``GCounter``, ``ORSet``, ...) live in the compiled core and are usable standalone::

    import convergent as cv

    a, b = cv.ORSet(replica="A"), cv.ORSet(replica="B")
    delta = a.add("milk")
    b.merge(delta)
    assert a == b

Replicated keys live in replicators; ``cv.Simulation`` runs a deterministic cluster of them::

    sim = cv.Simulation(nodes=3, seed=1)
    a, b, c = sim.nodes
    a.update(cv.PNCounterKey("hits"), lambda v: v.increment(5))
    sim.run_until_converged()
    assert c.get(cv.PNCounterKey("hits")).value == 5

Every replicator handle also streams a key's events to asyncio code::

    async for event in a.watch(cv.ORSetKey("cart")):
        ...  # cv.Changed(key, value) or cv.Deleted(key)
"""

from ._core import (
    Flag,
    GCounter,
    GSet,
    LWWMap,
    LWWRegister,
    MVRegister,
    ORMap,
    ORMultiMap,
    ORSet,
    PNCounter,
    PNCounterMap,
    Replicator,
    Simulation,
    Subscription,
)
from ._core import version as _core_version  # noqa: F401
from .cluster import LocalCluster
from .config import ALL, DC_ALL, DC_MAJORITY, LOCAL, MAJORITY, Config, Consistency, Majority, To
from .errors import (
    DecodeError,
    Error,
    KeyDeletedError,
    KeyTypeError,
    NodeDownError,
    NotConverged,
    PipelineError,
    ReadTimeout,
    WriteTimeout,
)
from .events import Changed, Deleted, Event, Expired
from .keys import (
    FlagKey,
    GCounterKey,
    GSetKey,
    Key,
    LWWMapKey,
    LWWRegisterKey,
    MVRegisterKey,
    ORMapKey,
    ORMultiMapKey,
    ORSetKey,
    PNCounterKey,
    PNCounterMapKey,
)
from .node import Node
from .pipeline import Pipeline
from .watch import Watch
from .watch import watch as _watch

# Replicator is a pybind11 class of _core; its asyncio watch() is pure Python, built on subscribe().
setattr(Replicator, "watch", _watch)  # noqa: B010 (mypy: a method assignment; the stub has it)


def _pipeline(self: Replicator) -> Pipeline:
    """LOCAL updates; here each is applied at once (convergent.pipeline)."""
    return Pipeline(each=self.update)


setattr(Replicator, "pipeline", _pipeline)  # noqa: B010 (as watch)

__version__ = "0.1.0"

__all__ = [
    "ALL",
    "Changed",
    "Config",
    "Consistency",
    "DC_ALL",
    "DC_MAJORITY",
    "DecodeError",
    "Deleted",
    "Expired",
    "Error",
    "Event",
    "Flag",
    "FlagKey",
    "GCounter",
    "GCounterKey",
    "GSet",
    "GSetKey",
    "Key",
    "KeyDeletedError",
    "KeyTypeError",
    "LOCAL",
    "LWWMap",
    "LWWMapKey",
    "LWWRegister",
    "LWWRegisterKey",
    "LocalCluster",
    "MAJORITY",
    "Majority",
    "MVRegister",
    "MVRegisterKey",
    "Node",
    "NodeDownError",
    "NotConverged",
    "ORMap",
    "ORMapKey",
    "ORMultiMap",
    "ORMultiMapKey",
    "ORSet",
    "ORSetKey",
    "PNCounter",
    "PNCounterKey",
    "PNCounterMap",
    "PNCounterMapKey",
    "Pipeline",
    "PipelineError",
    "ReadTimeout",
    "Replicator",
    "Simulation",
    "Subscription",
    "To",
    "Watch",
    "WriteTimeout",
    "__version__",
]
