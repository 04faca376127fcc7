"""SavedModel export of trained generators for TF Serving.

`export_generator(gan, "saved_models", "mnist")` writes
`saved_models/mnist/<next version>/` atomically, with a `serving_default`
signature (latents -> float images), a `generate_from_seeds` signature
(integer seeds -> uint8 images, latents equal to
`gankeras.latents_from_seeds`) and TF Serving warm-up requests.
"""

from gankeras.export.saved_model import (
    LATENT_SIGNATURE,
    SEEDS_SIGNATURE,
    ExportedModel,
    export_generator,
    write_archive,
)
from gankeras.export.versions import (
    VersionExistsError,
    existing_versions,
    next_version,
)
from gankeras.export.warmup import read_warmup_requests
