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
