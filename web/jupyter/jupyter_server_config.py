# launchbay: Jupyter Server settings for every sandbox's notebook server (loaded by the local
# backend with --config and installed as the system-wide config in worker/notebook.Dockerfile).
#
# Notebook trust is off: Jupyter normally signs a notebook on save when its cells say
# `trusted: true`, and later renders that notebook's HTML/JavaScript outputs with scripts
# enabled for whoever opens it. In a workshop the person who opens an attendee's notebook may
# be someone else (the organiser), so no signature is ever stored and none ever matches:
# every notebook loads untrusted, and JupyterLab sanitises its outputs.
from nbformat.sign import SignatureStore


class NeverTrustedStore(SignatureStore):
    """A signature store that forgets every signature and recognises none."""

    def store_signature(self, digest, algorithm):
        pass

    def check_signature(self, digest, algorithm):
        return False

    def remove_signature(self, digest, algorithm):
        pass

    def close(self):
        pass


c = get_config()  # noqa: F821 (Jupyter's config loader defines it)
c.NotebookNotary.store_factory = NeverTrustedStore

# Every sandbox opens on the tutorial's first notebook, not on the generic Launcher (the
# launcher's handover sends attendees to the server's root, which redirects here). Relative
# to the server's base URL. `jupyter lab` sets the server's default_url from LabApp's own
# (`/lab`), so it is set there too.
TUTORIAL_START = "/lab/tree/01-map.ipynb"
c.ServerApp.default_url = TUTORIAL_START
c.LabApp.default_url = TUTORIAL_START

# Work kept: JupyterLab autosaves every open document every 30 s (its default is 120 s), so
# an attendee's edits reach the disk (and so "Download my work" and the archive made at
# expiry) without pressing Save. The setting comes from lab-settings/overrides.json beside
# this file (copied there in worker/notebook.Dockerfile too).
import os.path

c.LabApp.app_settings_dir = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "lab-settings"
)

# The save bridge: the `@launchbay/save-bridge` JupyterLab extension (labextensions/ beside
# this file, prebuilt: one hand-written script) saves every open document when the launcher
# asks, before "Download my work" and before the sandbox is stopped (web/README.md).
c.LabApp.extra_labextensions_path = [
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "labextensions")
]
