"""convergent: delta-state CRDTs with a C++ core.

The value classes are defined in the compiled ``convergent._core`` under the module name
``convergent`` (so repr and pickle name them ``convergent.ORSet``), and re-exported here.

Values (``GCounter``, ``ORSet``, ...) live in the compiled core and are usable standalone::

    import convergent as cv

    a, b = cv.ORSet(replica="A"), cv.ORSet(replica="B")
    delta = a.add("milk")
    b.merge(delta)
    assert a == b
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
)
from ._core import version as _core_version  # noqa: F401
from .errors import (
    DecodeError,
    Error,
    KeyDeletedError,
    KeyTypeError,
    NotConverged,
    ReadTimeout,
    WriteTimeout,
)
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

__version__ = "0.1.0"

__all__ = [
    "DecodeError",
    "Error",
    "Flag",
    "FlagKey",
    "GCounter",
    "GCounterKey",
    "GSet",
    "GSetKey",
    "Key",
    "KeyDeletedError",
    "KeyTypeError",
    "LWWMap",
    "LWWMapKey",
    "LWWRegister",
    "LWWRegisterKey",
    "MVRegister",
    "MVRegisterKey",
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
    "ReadTimeout",
    "WriteTimeout",
    "__version__",
]
