# -*- test-case-name: tests.processes.test_badInput -*-
"""
Checks of what C{spawnServer()} is given, made before anything is bound or
spawned.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence


def checkArgv(argv: object) -> list[bytes]:
    """
    @return: C{argv}, each item encoded as the file system encodes it.
    @raise TypeError: Unless it is a list or tuple of C{str} or C{bytes}.
    @raise ValueError: If it is empty, or an item holds a NUL byte.
    """
    if isinstance(argv, (str, bytes)) or not isinstance(argv, Sequence):
        raise TypeError(
            f"argv must be a list of str or bytes, the program first (such as "
            f"[sys.executable, '-m', 'myapp.server']), not {argv!r}"
        )
    if not argv:
        raise ValueError("argv must name a program to run; it is empty")
    encoded = []
    for item in argv:
        if not isinstance(item, (str, bytes)):
            raise TypeError(
                f"each item of argv must be str or bytes (os.fspath() a "
                f"path), not {item!r} in {argv!r}"
            )
        value = os.fsencode(item)
        if b"\0" in value:
            raise ValueError(f"an item of argv holds a NUL byte: {item!r}")
        encoded.append(value)
    if not encoded[0]:
        raise ValueError(f"argv must begin with a program, not {argv[0]!r}")
    return encoded


def checkEnv(env: object) -> dict[bytes, bytes] | None:
    """
    @return: C{env} encoded, or C{None} to inherit the test process's.
    @raise TypeError: Unless it is C{None} or a mapping of C{str} or
        C{bytes} to C{str} or C{bytes}.
    @raise ValueError: For a name that is empty or holds C{=} or NUL, or a
        value that holds NUL.
    """
    if env is None:
        return None
    if not isinstance(env, Mapping):
        raise TypeError(
            f"env must be None (inherit this process's environment) or a "
            f"mapping of str or bytes to str or bytes, not {env!r}"
        )
    encoded = {}
    for name, value in env.items():
        if not isinstance(name, (str, bytes)) or not isinstance(value, (str, bytes)):
            raise TypeError(
                f"env must map str or bytes to str or bytes, not {name!r}: {value!r}"
            )
        key, text = os.fsencode(name), os.fsencode(value)
        if not key or b"=" in key or b"\0" in key or b"\0" in text:
            raise ValueError(f"env holds an invalid variable: {name!r}: {value!r}")
        encoded[key] = text
    return encoded


def checkPath(path: object) -> str | None:
    """
    @return: C{path}, a directory, as C{str}; or C{None} to run in the test
        process's working directory.
    @raise TypeError: Unless it is C{None}, C{str}, C{bytes} or a path.
    @raise ValueError: If it is not a directory.
    """
    if path is None:
        return None
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(
            f"path must be None (this process's working directory) or a "
            f"directory as str, bytes or os.PathLike, not {path!r}"
        )
    directory = os.fsdecode(os.fspath(path))
    if not os.path.isdir(directory):
        raise ValueError(f"path must be a directory, not {path!r}")
    return directory
