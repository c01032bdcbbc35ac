"""
Tests for L{trialnet._core._patch}: attributes set on an application's objects and
put back exactly.
"""

from __future__ import annotations

import gc
import weakref

from twisted.trial.unittest import SynchronousTestCase

from trialnet._core._patch import (
    NOTHING_SET,
    THROUGH,
    InstancePatch,
    claimedBy,
    patchable,
    patchIn,
    patchNames,
    unpatch,
    unpatchNames,
)


class _Routed:
    """
    A class whose C{routed} attribute is a data descriptor, as a proxy's is.
    """

    def __init__(self) -> None:
        self.store: dict[str, object] = {}

    @property
    def routed(self) -> object:
        return self.store.get("routed", "class default")

    @routed.setter
    def routed(self, value: object) -> None:
        self.store["routed"] = value

    @routed.deleter
    def routed(self) -> None:
        self.store.pop("routed", None)


class InstancePatchTests(SynchronousTestCase):
    def test_restoresWhatWasThere(self) -> None:
        """
        C{restore} puts back the instance attribute set before, and removes
        one that was not there.
        """

        class Thing:
            pass

        thing = Thing()
        thing.before = "mine"  # type: ignore[attr-defined]
        patch = InstancePatch(thing)
        patch.set("before", "trialnet's")
        patch.set("added", "trialnet's")
        self.assertEqual(vars(thing), {"before": "trialnet's", "added": "trialnet's"})
        patch.restoreAll()
        self.assertEqual(vars(thing), {"before": "mine"})

    def test_ownsEitherName(self) -> None:
        """
        C{owns} tells whether the instance attribute it names, or the other
        one it is given, is a method of an instance of the owner class; a
        function, the class's own method and a missing attribute are not.
        """

        class Owner:
            def method(self) -> None:
                pass

        class Thing:
            def makeConnection(self) -> None:
                pass

        thing = Thing()
        patch = InstancePatch(thing)
        self.assertFalse(patch.owns("makeConnection", Owner, "connectionLost"))
        thing.connectionLost = print  # type: ignore[attr-defined]
        self.assertFalse(patch.owns("makeConnection", Owner, "connectionLost"))
        patch.set("connectionLost", Owner().method)
        self.assertTrue(patch.owns("makeConnection", Owner, "connectionLost"))
        self.assertFalse(patch.owns("makeConnection", Owner))
        patch.set("makeConnection", Owner().method)
        self.assertTrue(patch.owns("makeConnection", Owner))
        patch.restoreAll()
        self.assertFalse(patch.owns("makeConnection", Owner, "connectionLost"))
        self.assertIs(vars(thing)["connectionLost"], print)

    def test_throughDescriptor(self) -> None:
        """
        An attribute the class defines as a data descriptor is set through
        it (an instance attribute would never be seen), and deleted through
        it on restore.
        """
        thing = _Routed()
        patch = InstancePatch(thing)
        patch.set("routed", "trialnet's")
        self.assertEqual(thing.routed, "trialnet's")
        self.assertNotIn("routed", vars(thing))
        patch.restore("routed")
        self.assertEqual(thing.routed, "class default")

    def test_restoreAllBothWays(self) -> None:
        """
        C{restoreAll} puts back what was set in the instance dictionary and
        what was set through a descriptor, each once: a second
        C{restoreAll} changes nothing.
        """
        thing = _Routed()
        thing.plain = "mine"  # type: ignore[attr-defined]
        patch = InstancePatch(thing)
        patch.set("plain", "trialnet's")
        patch.set("plain", "trialnet's again")
        patch.set("routed", "trialnet's")
        patch.set("added", "trialnet's")
        patch.restoreAll()
        self.assertEqual(vars(thing), {"store": {}, "plain": "mine"})
        self.assertEqual(thing.routed, "class default")
        thing.plain = "changed since"  # type: ignore[attr-defined]
        thing.routed = "set since"
        patch.restoreAll()
        self.assertEqual(thing.plain, "changed since")  # type: ignore[attr-defined]
        self.assertEqual(thing.routed, "set since")

    def test_classChangedSince(self) -> None:
        """
        What a patch learns of its object's class is filed under the class
        the object had when the patch was made, even if the object changed
        class since (as C{twisted.python.rebuild} makes it): other instances
        of that class are still patched, and put back, as their class wants.
        """

        class Plain:
            routed = None

        changing = Plain()
        changing.store = {}  # type: ignore[attr-defined]
        patch = InstancePatch(changing)
        changing.__class__ = _Routed  # type: ignore[assignment]
        patch.set("routed", 1)

        other = Plain()
        other.routed = "mine"  # type: ignore[assignment]
        otherPatch = InstancePatch(other)
        otherPatch.set("routed", 2)
        self.assertEqual(vars(other)["routed"], 2)
        otherPatch.restoreAll()
        self.assertEqual(vars(other), {"routed": "mine"})

    def test_classNotKeptAlive(self) -> None:
        """
        Having patched an instance of a class does not keep the class alive
        (a class defined inside a test is collected after it), and a new
        class that reuses its id gets answers of its own.
        """

        def makeClass(routed: bool) -> type:
            if routed:
                return type("Made", (_Routed,), {})
            return type("Made", (), {"routed": None})

        made = makeClass(routed=False)
        patch = InstancePatch(made())
        patch.set("routed", 1)
        reference = weakref.ref(made)
        del made, patch
        gc.collect()
        self.assertIsNone(reference())
        # Whatever id a new class gets, it is asked about afresh.
        for _ in range(20):
            routedClass = makeClass(routed=True)
            instance = routedClass()
            InstancePatch(instance).set("routed", 2)
            self.assertNotIn("routed", vars(instance))
            self.assertEqual(instance.routed, 2)

    def test_slotsRefused(self) -> None:
        """
        An object without an instance dictionary cannot be observed, and
        L{patchable} says why, with the class's name.
        """

        class Slotted:
            __slots__ = ("a",)

        error = self.assertRaises(TypeError, patchable, Slotted(), "protocol")
        self.assertIn("__slots__", str(error))
        self.assertIn("Slotted", str(error))


class PatchInTests(SynchronousTestCase):
    """
    L{patchIn} and L{unpatch}: one name set on an instance by a record that
    keeps what was there itself.
    """

    def test_putsBackWhatWasThere(self) -> None:
        """
        L{unpatch} puts back the instance attribute that L{patchIn}
        replaced, and removes one that was not there.
        """

        class Thing:
            pass

        thing = Thing()
        thing.before = "mine"  # type: ignore[attr-defined]
        before = patchIn(thing, "before", "trialnet's")
        added = patchIn(thing, "added", "trialnet's")
        self.assertEqual(vars(thing), {"before": "trialnet's", "added": "trialnet's"})
        unpatch(thing, "before", before)
        unpatch(thing, "added", added)
        self.assertEqual(vars(thing), {"before": "mine"})

    def test_throughDescriptor(self) -> None:
        """
        A name the class defines as a data descriptor is set through it, and
        deleted through it by L{unpatch}.
        """
        thing = _Routed()
        previous = patchIn(thing, "routed", "trialnet's")
        self.assertIs(previous, THROUGH)
        self.assertEqual(thing.routed, "trialnet's")
        self.assertNotIn("routed", vars(thing))
        unpatch(thing, "routed", previous)
        self.assertEqual(thing.routed, "class default")

    def test_patchNames(self) -> None:
        """
        L{patchNames} sets several names of one object, each as L{patchIn}
        would (through the class's data descriptor where it has one), and
        returns for each what L{unpatch} puts back.
        """
        thing = _Routed()
        thing.plain = "mine"  # type: ignore[attr-defined]
        saved = patchNames(
            thing, {"plain": "trialnet's", "routed": "trialnet's", "added": 1}
        )
        self.assertIs(saved["routed"], THROUGH)
        self.assertEqual(thing.routed, "trialnet's")
        self.assertEqual(
            vars(thing),
            {"store": {"routed": "trialnet's"}, "plain": "trialnet's", "added": 1},
        )
        unpatchNames(thing, saved)
        self.assertEqual(vars(thing), {"store": {}, "plain": "mine"})
        self.assertEqual(thing.routed, "class default")

    def test_unpatchNamesEachAsUnpatch(self) -> None:
        """
        L{unpatchNames} puts back each name as L{unpatch} would: what the
        instance had, nothing where it had nothing, the class's data
        descriptor's own value, and leaves a name saved as L{NOTHING_SET}
        as it is.
        """
        names = {"plain": "trialnet's", "routed": "trialnet's", "added": 1}
        byName, byNames = _Routed(), _Routed()
        for thing in (byName, byNames):
            thing.plain = "mine"  # type: ignore[attr-defined]
            thing.kept = "mine"  # type: ignore[attr-defined]
        saved = patchNames(byName, names)
        savedToo = patchNames(byNames, names)
        saved["kept"] = savedToo["kept"] = NOTHING_SET
        for name, previous in saved.items():
            unpatch(byName, name, previous)
        unpatchNames(byNames, savedToo)
        self.assertEqual(vars(byNames), vars(byName))
        self.assertEqual(vars(byNames), {"store": {}, "plain": "mine", "kept": "mine"})
        self.assertEqual(byNames.routed, "class default")

    def test_nothingSet(self) -> None:
        """
        L{unpatch} of L{NOTHING_SET} leaves the instance as it is, even an
        attribute of the same name.
        """

        class Thing:
            pass

        thing = Thing()
        thing.name = "mine"  # type: ignore[attr-defined]
        unpatch(thing, "name", NOTHING_SET)
        self.assertEqual(vars(thing), {"name": "mine"})

    def test_slotsRefused(self) -> None:
        """
        L{claimedBy} refuses an object without an instance dictionary as
        L{patchable} does, naming the class and what it is.
        """

        class Slotted:
            __slots__ = ("a",)

        error = self.assertRaises(
            TypeError, claimedBy, Slotted(), "port", object, "stopListening"
        )
        self.assertIn("__slots__", str(error))
        self.assertIn("Slotted", str(error))
        self.assertIn("port", str(error))
        self.assertFalse(claimedBy(_Routed(), "port", object, "routed"))

    def test_claimedBy(self) -> None:
        """
        L{claimedBy} tells whether the instance attribute it names, or the
        other one it names, is a method of an instance of the owner class; a
        missing one, a function, and a class attribute are not.
        """

        class Owner:
            def method(self) -> None:
                pass

        class Thing:
            onClass = Owner().method

        thing = Thing()
        thing.mine = Owner().method  # type: ignore[attr-defined]
        thing.other = len  # type: ignore[attr-defined]
        self.assertTrue(claimedBy(thing, "thing", Owner, "mine"))
        self.assertTrue(claimedBy(thing, "thing", Owner, "missing", "mine"))
        self.assertTrue(claimedBy(thing, "thing", Owner, "mine", "other"))
        self.assertFalse(claimedBy(thing, "thing", Owner, "other"))
        self.assertFalse(claimedBy(thing, "thing", Owner, "other", "missing"))
        self.assertFalse(claimedBy(thing, "thing", Owner, "onClass"))
        self.assertFalse(claimedBy(thing, "thing", Thing, "mine"))
