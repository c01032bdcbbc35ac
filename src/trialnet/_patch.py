"""
Attributes set on the instances of objects trialnet observes (a protocol's
C{makeConnection}, a transport's C{connectionLost}, a factory's
C{buildProtocol}, a port's C{stopListening}), each restorable to exactly what
was there before, so that nothing the application owns keeps a reference to
trialnet after the teardown.
"""

from __future__ import annotations

import contextlib
import inspect
import weakref

from twisted.python.reflect import qual

_MISSING = object()

# By the class's id, each with a weak reference to the class: a class defined
# in a test is not kept alive by having been observed once, and a lookup makes
# no weak reference (a WeakKeyDictionary makes one on every get).
_dataDescriptors: dict[int, tuple[weakref.ref[type], dict[str, bool]]] = {}


def _isDataDescriptor(cls: type, name: str) -> bool:
    """
    Whether C{cls} defines C{name} as a data descriptor, which takes
    precedence over an instance attribute of the same name.
    """
    entry = _dataDescriptors.get(id(cls))
    if entry is None or entry[0]() is not cls:
        key = id(cls)

        def gone(reference: weakref.ref[type]) -> None:
            if _dataDescriptors.get(key, (None,))[0] is reference:
                del _dataDescriptors[key]

        entry = _dataDescriptors[key] = (weakref.ref(cls, gone), {})
    known = entry[1]
    answer = known.get(name)
    if answer is None:
        attribute = inspect.getattr_static(cls, name, None)
        answer = known[name] = hasattr(type(attribute), "__set__")
    return answer


class InstancePatch:
    """
    Attributes set on one object's instance dictionary, each restorable to
    exactly what was there before.
    """

    def __init__(self, target: object) -> None:
        self._target = target
        self._instanceDict = vars(target)
        self._saved: dict[str, object] = {}
        self._throughDescriptor: set[str] = set()

    def set(self, name: str, value: object) -> None:
        """
        Set C{name} on the instance, remembering what was there.
        """
        if _isDataDescriptor(type(self._target), name):
            # The class routes this attribute elsewhere (a proxy such as
            # twisted.web's HTTP channel hands it to the object it wraps):
            # an instance attribute would never be seen, so set it the way
            # the class wants it set.
            self._throughDescriptor.add(name)
            setattr(self._target, name, value)
            return
        self._saved.setdefault(name, self._instanceDict.get(name, _MISSING))
        self._instanceDict[name] = value

    def restore(self, name: str) -> None:
        """
        Put back what C{name} was before L{set}.
        """
        if name in self._throughDescriptor:
            self._throughDescriptor.discard(name)
            with contextlib.suppress(AttributeError):
                delattr(self._target, name)
            return
        previous = self._saved.pop(name, _MISSING)
        if previous is _MISSING:
            self._instanceDict.pop(name, None)
        else:
            self._instanceDict[name] = previous

    def restoreAll(self) -> None:
        """
        Put back everything set.
        """
        for name in list(self._saved) + list(self._throughDescriptor):
            self.restore(name)


def patchable(thing: object, what: str) -> InstancePatch:
    """
    @raise TypeError: When C{thing} has no instance dictionary (its class
        defines C{__slots__}), so trialnet cannot observe it.
    """
    if not hasattr(thing, "__dict__"):
        raise TypeError(
            f"trialnet cannot observe {what} {qual(type(thing))}: its instances "
            f"have no __dict__ (the class defines __slots__); add '__dict__' to "
            f"__slots__ or use a class without __slots__"
        )
    return InstancePatch(thing)


def ownedBy(thing: object, name: str, owner: type) -> bool:
    """
    Whether the instance attribute C{name} of C{thing} is a method of an
    C{owner} instance: whether a trialnet record already observes it.
    """
    try:
        attribute = vars(thing).get(name)
    except TypeError:
        return False
    return isinstance(getattr(attribute, "__self__", None), owner)
