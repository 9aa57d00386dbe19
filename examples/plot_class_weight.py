"""
=================================
Imbalanced classes: class_weight
=================================

When one class is rare, a classifier that minimises the average loss can
afford to get most of the rare class wrong. ``class_weight="balanced"`` gives
each class the same total weight in the loss (and in FreeEvolve's activity
statistics and the early-stopping score), trading some accuracy on the common
class for recall on the rare one. This example fits
:class:`~sklearn_freenets.FreeNetClassifier` with and without it on a noisy
binary problem where one sample in ten is positive, and compares the
confusion matrices on held-out rows.
"""

# SPDX-License-Identifier: BSD-3-Clause

# %%
print(__doc__)

# %%
# The data
# --------
#
# 2,000 rows, 10 features, 10 % positives, 5 % of the labels flipped. The split
# is stratified so that both halves keep the imbalance.
import matplotlib.pyplot as plt
from sklearn.datasets import make_classification
from sklearn.metrics import ConfusionMatrixDisplay, balanced_accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_freenets import FreeNetClassifier

X, y = make_classification(
    n_samples=2000,
    n_features=10,
    n_informative=4,
    weights=[0.9, 0.1],
    flip_y=0.05,
    class_sep=0.8,
    random_state=0,
)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.5, stratify=y, random_state=0
)

# %%
# Two fits
# --------
#
# The same pipeline, once with every class weighing 1 and once with
# ``class_weight="balanced"`` (here about 0.56 for the common class and 5 for
# the rare one: ``n_samples / (n_classes * n_samples_of_class)``).
models = {
    "class_weight=None": FreeNetClassifier(random_state=0),
    'class_weight="balanced"': FreeNetClassifier(
        class_weight="balanced", random_state=0
    ),
}
fig, axes = plt.subplots(1, 2, figsize=(9, 4))
for ax, (name, clf) in zip(axes, models.items(), strict=True):
    pipe = make_pipeline(StandardScaler(), clf).fit(X_train, y_train)
    y_pred = pipe.predict(X_test)
    score = balanced_accuracy_score(y_test, y_pred)
    print(f"{name}: balanced accuracy {score:.3f}")
    ConfusionMatrixDisplay.from_predictions(y_test, y_pred, ax=ax, colorbar=False)
    ax.set_title(f"{name}\nbalanced accuracy {score:.3f}")
fig.tight_layout()
plt.show()

# %%
# With the balanced weights more of the rare class is found (the bottom right
# cell), at the price of more common rows predicted rare (the top right
# cell). Which trade is right depends on what a missed positive costs; a dict
# such as ``class_weight={0: 1, 1: 3}`` sets it by hand. The weights multiply
# ``sample_weight`` when both are given, as in scikit-learn's classifiers.
