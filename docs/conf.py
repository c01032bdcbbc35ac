"""
Sphinx configuration: the how-to pages, with pydoctor's API pages built into
the same site (under C{api/}) by pydoctor's Sphinx extension, as Twisted
builds its own documentation.

Build with C{sphinx-build -W -b html docs build/docs}; a warning of Sphinx
or of pydoctor (a broken reference, say) fails the build.  Nothing is
fetched: references to Twisted resolve through an inventory of the installed
Twisted, made here with pydoctor the first time and kept under C{build/}.
"""

import os
import subprocess
import sys

import twisted

_HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(_HERE)
TWISTED_API = "https://docs.twisted.org/en/stable/api/"


def twistedInventory() -> str:
    """
    The path of an intersphinx inventory of the installed Twisted, made once
    per Twisted version (about 20 seconds).
    """
    directory = os.path.join(ROOT, "build", f"twisted-inventory-{twisted.__version__}")
    inventory = os.path.join(directory, "objects.inv")
    if not os.path.exists(inventory):
        made = subprocess.run(
            [
                sys.executable,
                "-m",
                "pydoctor",
                "--quiet",
                "--make-intersphinx",
                "--project-name=Twisted",
                f"--html-output={directory}",
                os.path.dirname(twisted.__file__),
            ],
            capture_output=True,
            text=True,
        )
        if made.returncode != 0 or not os.path.exists(inventory):
            raise RuntimeError(f"pydoctor made no Twisted inventory:\n{made.stdout}")
    return inventory


project = "trialnet"
author = "the trialnet developers"
copyright = "the trialnet developers"
extensions = ["sphinx.ext.intersphinx", "pydoctor.sphinx_ext.build_apidocs"]
exclude_patterns = ["_build"]
root_doc = "index"
html_theme = "alabaster"
# A reference that does not resolve is a warning, so an error.
nitpicky = True
html_static_path: list[str] = []
# The code of every page comes from a file the test command runs.
highlight_language = "python"

_inventory = twistedInventory()
# Local inventories only: a build never touches the network.
intersphinx_mapping = {"twisted": (TWISTED_API, _inventory)}

pydoctor_args = [
    "--project-name=trialnet",
    "--docformat=epytext",
    f"--project-base-dir={ROOT}",
    f"--intersphinx-file={_inventory}::{TWISTED_API}",
    "--html-output={outdir}/api",
    os.path.join(ROOT, "trialnet"),
]
# Relative: the how-to pages link into the API pages of the same site.
pydoctor_url_path = "api/"
