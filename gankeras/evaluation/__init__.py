"""How good is a generator, measured.

Metrics live in the feature space of an extractor fitted to the dataset:

- labelled data: a domain classifier trained on it (`classifier.py`), as
  TF-GAN does for MNIST; its logits add the class metrics;
- any data, labels or not: a small SimCLR encoder trained on the real
  training images (`contrastive.py`, Chen et al. 2020), cached per dataset
  fingerprint;
- the standard protocol, when InceptionV3 weights are at hand
  (`inception.py`): the same distances in its 2048-d pool features and the
  Inception score.

The metrics:
- `frechet_distance` (FID formula), `kernel_distance` (KID, unbiased),
  `precision_recall` (Kynkäänniemi et al. 2019), `density_coverage` (Naeem
  et al. 2020), in every extractor's features; `classifier_score`
  (Inception-score formula) and `class_coverage` from a classifier's logits;
- in pixel space: `parzen_log_likelihood` (Goodfellow et al. 2014, Table 1),
  `memorization` (nearest training image vs held-out images);
- toy 2-D mixtures: modes captured and high-quality share are scored by
  `gankeras.data.toy.ToyDistribution.score` (VEEGAN's protocol), next to the
  distributions themselves;
- the seeds' theory in 1-D: `theory` (D*, 2 JSD - log 4, W1 by integration)
  and `probes` (a discriminator/critic trained against a fixed generator).

`evaluate_generator(generate_fn, real_train, real_test, extractor)` runs all
image metrics; `sources` turns a GAN, a generator or a SavedModel into a
`generate_fn`; `figures` draws the report's PNGs.
"""

from gankeras.evaluation.class_coverage import class_coverage, class_histogram
from gankeras.evaluation.classifier import (
    DomainClassifier,
    build_domain_classifier,
    load_or_train_domain_classifier,
    train_domain_classifier,
)
from gankeras.evaluation.classifier_score import classifier_score
from gankeras.evaluation.contrastive import (
    ContrastiveAugmentation,
    ContrastiveEncoder,
    load_or_train_contrastive_encoder,
    train_contrastive_encoder,
)
from gankeras.evaluation.density_coverage import density_coverage
from gankeras.evaluation.frechet import frechet_distance
from gankeras.evaluation.inception import InceptionExtractor
from gankeras.evaluation.kernel_distance import kernel_distance
from gankeras.evaluation.memorization import memorization
from gankeras.evaluation.parzen import parzen_log_likelihood
from gankeras.evaluation.precision_recall import precision_recall
from gankeras.evaluation.report import EvaluationReport, evaluate_generator, evaluate_samples

__all__ = [
    "class_coverage",
    "class_histogram",
    "DomainClassifier",
    "build_domain_classifier",
    "load_or_train_domain_classifier",
    "train_domain_classifier",
    "classifier_score",
    "ContrastiveAugmentation",
    "ContrastiveEncoder",
    "load_or_train_contrastive_encoder",
    "train_contrastive_encoder",
    "density_coverage",
    "frechet_distance",
    "InceptionExtractor",
    "kernel_distance",
    "memorization",
    "parzen_log_likelihood",
    "precision_recall",
    "EvaluationReport",
    "evaluate_generator",
    "evaluate_samples",
]
