"""`Artifact`: a directory one component execution wrote."""

import dataclasses
import os


@dataclasses.dataclass(frozen=True)
class Artifact:
    """One output of one execution.

    Attributes:
        producer: the component name, e.g. "Trainer".
        name: the output name, e.g. "model".
        uri: its directory, `<root>/<producer>/<name>/<run_id>/`.
        fingerprint: identifies the content: the producing execution's cache
            key and the output name. Downstream cache keys include it, so a
            changed upstream output invalidates everything after it.
        run_id: the producing execution.
    """

    producer: str
    name: str
    uri: str
    fingerprint: str
    run_id: str

    def path(self, *parts):
        """A path inside the artifact directory."""
        return os.path.join(self.uri, *parts)
