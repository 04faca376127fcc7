"""How good is a generator, measured.

Metrics live in the feature space of a domain classifier trained on the
dataset (`classifier.py`), as TF-GAN does for MNIST:

- `frechet_distance` (FID formula), `kernel_distance` (KID, unbiased),
  `classifier_score` (Inception-score formula), `precision_recall`
  (Kynkäänniemi et al. 2019), `class_coverage`;
- in pixel space: `parzen_log_likelihood` (Goodfellow et al. 2014, Table 1),
  `memorization` (nearest training image vs held-out images);
- toy 2-D mixtures: modes captured and high-quality share are scored by
  `gankeras.data.toy.ToyDistribution.score` (VEEGAN's protocol), next to the
  distributions themselves;
- the seeds' theory in 1-D: `theory` (D*, 2 JSD - log 4, W1 by integration)
  and `probes` (a discriminator/critic trained against a fixed generator).

`evaluate_generator(generate_fn, real_train, real_test, classifier)` runs all
image metrics; `sources` turns a GAN, a generator or a SavedModel into a
`generate_fn`; `figures` draws the report's PNGs.
"""

from gankeras.evaluation.class_coverage import class_coverage
from gankeras.evaluation.class_coverage import class_histogram
from gankeras.evaluation.classifier import DomainClassifier
from gankeras.evaluation.classifier import build_domain_classifier
from gankeras.evaluation.classifier import load_or_train_domain_classifier
from gankeras.evaluation.classifier import train_domain_classifier
from gankeras.evaluation.classifier_score import classifier_score
from gankeras.evaluation.frechet import frechet_distance
from gankeras.evaluation.kernel_distance import kernel_distance
from gankeras.evaluation.memorization import memorization
from gankeras.evaluation.parzen import parzen_log_likelihood
from gankeras.evaluation.precision_recall import precision_recall
from gankeras.evaluation.report import EvaluationReport
from gankeras.evaluation.report import evaluate_generator
from gankeras.evaluation.report import evaluate_samples
