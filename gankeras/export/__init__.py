"""SavedModel export of trained generators for TF Serving.

`export_generator(gan, "saved_models", "mnist")` writes
`saved_models/mnist/<next version>/` atomically, with a `serving_default`
signature (latents -> float images), a `generate_from_seeds` signature
(integer seeds -> uint8 images, latents equal to
`gankeras.latents_from_seeds`) and TF Serving warm-up requests.
"""

from gankeras.export.saved_model import LATENT_SIGNATURE  # noqa: F401
from gankeras.export.saved_model import SEEDS_SIGNATURE  # noqa: F401
from gankeras.export.saved_model import ExportedModel  # noqa: F401
from gankeras.export.saved_model import export_generator  # noqa: F401
from gankeras.export.saved_model import write_archive  # noqa: F401
from gankeras.export.versions import VersionExistsError  # noqa: F401
from gankeras.export.versions import existing_versions  # noqa: F401
from gankeras.export.versions import next_version  # noqa: F401
from gankeras.export.warmup import read_warmup_requests  # noqa: F401

