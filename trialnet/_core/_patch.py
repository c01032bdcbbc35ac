# -*- test-case-name: tests.core.test_patch -*-
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
# no weak reference (a WeakKeyDictionary makes one on every get).  Each class
# maps an attribute name to whether the class defines it as a data
# descriptor.
_dataDescriptors: dict[int, tuple[weakref.ref[type], dict[str, bool]]] = {}


def _descriptorsOf(cls: type) -> dict[str, bool]:
    """
    What is known of C{cls}'s data descriptors: a dictionary of attribute
    names, each to whether C{cls} defines it as one.
    """
    key = id(cls)
    entry = _dataDescriptors.get(key)
    if entry is None or entry[0]() is not cls:

        def gone(reference: weakref.ref[type]) -> None:
            if _dataDescriptors.get(key, (None,))[0] is reference:
                del _dataDescriptors[key]

        entry = _dataDescriptors[key] = (weakref.ref(cls, gone), {})
    return entry[1]


def _isDataDescriptor(cls: type, known: dict[str, bool], name: str) -> bool:
    """
    Whether C{cls} defines C{name} as a data descriptor, which takes
    precedence over an instance attribute of the same name; learnt once and
    kept in C{known}, C{cls}'s entry.
    """
    attribute = inspect.getattr_static(cls, name, None)
    answer = known[name] = hasattr(type(attribute), "__set__")
    return answer


class InstancePatch:
    """
    Attributes set on one object's instance dictionary, each restorable to
    exactly what was there before.

    It runs for every end and port a test opens, so each step is written
    out rather than delegated, and it has slots: no dictionary of its own.
    """

    __slots__ = (
        "_class",
        "_instanceDict",
        "_known",
        "_saved",
        "_target",
        "_throughDescriptor",
    )

    def __init__(self, target: object) -> None:
        """
        @raise TypeError: When C{target} has no instance dictionary.
        """
        self._instanceDict = vars(target)
        self._target = target
        # The class it has now: what is learnt of it is filed under it, even
        # should the object change class later (as twisted.python.rebuild
        # makes it).
        cls = self._class = type(target)
        # _descriptorsOf(cls), written out for the class seen before (every
        # patch but a class's first): one call fewer for every patch.
        entry = _dataDescriptors.get(id(cls))
        if entry is None or entry[0]() is not cls:
            self._known = _descriptorsOf(cls)
        else:
            self._known = entry[1]
        self._saved: dict[str, object] = {}
        self._throughDescriptor: set[str] | None = None

    def owns(self, name: str, owner: type, other: str = "") -> bool:
        """
        Whether the instance attribute C{name} (or C{other}, if given) is a
        method of an C{owner} instance (see L{ownedBy}).
        """
        instanceDict = self._instanceDict
        attribute = instanceDict.get(name)
        if isinstance(getattr(attribute, "__self__", None), owner):
            return True
        if other:
            attribute = instanceDict.get(other)
            return isinstance(getattr(attribute, "__self__", None), owner)
        return False

    def set(self, name: str, value: object) -> None:
        """
        Set C{name} on the instance, remembering what was there.
        """
        routed = self._known.get(name)
        if routed is None:
            routed = _isDataDescriptor(self._class, self._known, name)
        if routed:
            # The class routes this attribute elsewhere (a proxy such as
            # twisted.web's HTTP channel hands it to the object it wraps):
            # an instance attribute would never be seen, so set it the way
            # the class wants it set.
            if self._throughDescriptor is None:
                self._throughDescriptor = set()
            self._throughDescriptor.add(name)
            setattr(self._target, name, value)
            return
        saved = self._saved
        instanceDict = self._instanceDict
        if name not in saved:
            saved[name] = instanceDict.get(name, _MISSING)
        instanceDict[name] = value

    def restore(self, name: str) -> None:
        """
        Put back what C{name} was before L{set}.
        """
        through = self._throughDescriptor
        if through and name in through:
            through.discard(name)
            with contextlib.suppress(AttributeError):
                delattr(self._target, name)
            return
        previous = self._saved.pop(name, _MISSING)
        instanceDict = self._instanceDict
        if previous is not _MISSING:
            instanceDict[name] = previous
        elif name in instanceDict:
            del instanceDict[name]

    def restoreAll(self) -> None:
        """
        Put back everything set.
        """
        saved = self._saved
        if saved:
            instanceDict = self._instanceDict
            for name, previous in saved.items():
                if previous is not _MISSING:
                    instanceDict[name] = previous
                elif name in instanceDict:
                    del instanceDict[name]
            saved.clear()
        if self._throughDescriptor:
            for name in list(self._throughDescriptor):
                self.restore(name)


#: What L{patchIn} returns when it set a name through the class's data
#: descriptor, and what a record keeps when it has nothing to put back.
THROUGH = object()
NOTHING_SET = object()


def claimedBy(
    thing: object, what: str, owner: type, name: str, other: str = ""
) -> bool:
    """
    Whether the instance attribute C{name} (or C{other}, if given) of
    C{thing} is a method of an C{owner} instance: whether a trialnet record
    observes it already.  A record asks it of what it is about to patch
    with L{patchIn}, which needs an instance dictionary.

    @raise TypeError: When C{thing} has no instance dictionary (see
        L{patchable}).
    """
    try:
        instanceDict = vars(thing)
    except TypeError:
        raise _unpatchable(thing, what) from None
    # Shaped for speed (every end, port and factory): one call for both
    # names, and a fresh object, as nearly every one is, has neither in its
    # instance dictionary.
    attribute = instanceDict.get(name)
    if attribute is not None and isinstance(
        getattr(attribute, "__self__", None), owner
    ):
        return True
    if other:
        attribute = instanceDict.get(other)
        return attribute is not None and isinstance(
            getattr(attribute, "__self__", None), owner
        )
    return False


def patchIn(target: object, name: str, value: object) -> object:
    """
    Set C{name} on C{target}'s instance, as L{InstancePatch.set} does, for
    a record that keeps what was there itself: the records of ends, ports
    and factories patch one to four names of an object, for every test, and
    keep them in place of an L{InstancePatch} each (one object and one
    dictionary fewer a patched object).  C{target} has an instance
    dictionary (see L{claimedBy}).

    @return: What to give L{unpatch} to put it back: what the instance
        dictionary held (or a marker of nothing), or L{THROUGH}.
    """
    cls = type(target)
    # _descriptorsOf(cls), written out for the class seen before.
    entry = _dataDescriptors.get(id(cls))
    known = _descriptorsOf(cls) if entry is None or entry[0]() is not cls else entry[1]
    routed = known.get(name)
    if routed is None:
        routed = _isDataDescriptor(cls, known, name)
    if routed:
        # As in InstancePatch.set: the class routes this attribute elsewhere.
        setattr(target, name, value)
        return THROUGH
    instanceDict = vars(target)
    previous = instanceDict.get(name, _MISSING)
    instanceDict[name] = value
    return previous


def patchNames(target: object, replacements: dict[str, object]) -> dict[str, object]:
    """
    L{patchIn} of several names of one object (a port's four), learning
    what its class says of them with one lookup of the class.

    @return: Each name, to what to give L{unpatch} to put it back.
    """
    cls = type(target)
    entry = _dataDescriptors.get(id(cls))
    known = _descriptorsOf(cls) if entry is None or entry[0]() is not cls else entry[1]
    instanceDict = vars(target)
    saved: dict[str, object] = {}
    for name, value in replacements.items():
        routed = known.get(name)
        if routed is None:
            routed = _isDataDescriptor(cls, known, name)
        if routed:
            setattr(target, name, value)
            saved[name] = THROUGH
        else:
            saved[name] = instanceDict.get(name, _MISSING)
            instanceDict[name] = value
    return saved


def unpatch(target: object, name: str, previous: object) -> None:
    """
    Put back C{name} as it was before the L{patchIn} that returned
    C{previous}; nothing when C{previous} is L{NOTHING_SET}.
    """
    if previous is NOTHING_SET:
        return
    if previous is THROUGH:
        with contextlib.suppress(AttributeError):
            delattr(target, name)
        return
    instanceDict = vars(target)
    if previous is not _MISSING:
        instanceDict[name] = previous
    elif name in instanceDict:
        del instanceDict[name]


def unpatchNames(target: object, saved: dict[str, object]) -> None:
    """
    L{unpatch} of each name of one object that L{patchNames} patched (a
    port's four), with one lookup of its instance dictionary.

    @param saved: What L{patchNames} returned.
    """
    instanceDict = vars(target)
    for name, previous in saved.items():
        if previous is NOTHING_SET:
            continue
        if previous is THROUGH:
            with contextlib.suppress(AttributeError):
                delattr(target, name)
        elif previous is not _MISSING:
            instanceDict[name] = previous
        elif name in instanceDict:
            del instanceDict[name]


def _unpatchable(thing: object, what: str) -> TypeError:
    return TypeError(
        f"trialnet cannot observe {what} {qual(type(thing))}: its instances "
        f"have no __dict__ (the class defines __slots__); add '__dict__' to "
        f"__slots__ or use a class without __slots__"
    )


def patchable(thing: object, what: str) -> InstancePatch:
    """
    @raise TypeError: When C{thing} has no instance dictionary (its class
        defines C{__slots__}), so trialnet cannot observe it.
    """
    try:
        return InstancePatch(thing)
    except TypeError:
        raise _unpatchable(thing, what) from None


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
