import numpy as np
import pytest
import torch
from sklearn.base import clone

from probekit.errors import ProbekitError
from probekit.estimators.contrastive_concepts import ContrastiveConceptEstimator
from probekit.metrics.mcc import mean_correlation_coefficient
from probekit.synthetic.concept_conditioned import make_concept_conditioned_data


@pytest.fixture(scope="module")
def s1():
    return make_concept_conditioned_data("S1", "linear", n_per_env=1500, seed=1)


@pytest.fixture(scope="module")
def fitted(s1):
    torch.manual_seed(0)
    return ContrastiveConceptEstimator(max_epochs=40, batch_size=512, random_state=0).fit(
        s1.base_x, s1.env_x, s1.env_concepts)


def test_recovers_planted_linear_concepts(s1, fitted):
    z, x = s1.sample_base(3000, np.random.default_rng(7))
    v = s1.valuations(z)
    h = fitted.transform(x)
    assert h.shape == (3000, 2)
    assert mean_correlation_coefficient(v, h) > 0.9
    # a random linear map of the same data does much worse
    rand = x @ np.random.default_rng(0).standard_normal((x.shape[1], 2))
    assert mean_correlation_coefficient(v, rand) < mean_correlation_coefficient(v, h) - 0.1


def test_fitted_attributes_and_linear_form(s1, fitted):
    assert fitted.components_.shape == (2, s1.base_x.shape[1])
    x = s1.env_x[0][:50]
    assert np.allclose(fitted.transform(x), x @ fitted.components_.T + fitted.intercept_, atol=1e-5)
    assert len(fitted.history_["val_loss"]) == 40
    assert fitted.best_val_loss_ == pytest.approx(min(fitted.history_["val_loss"]))
    assert fitted.alpha_.shape == fitted.lambda_.shape == (3,)
    assert fitted.env_logits(x).shape == (50, 3)
    # validation classifier accuracy is above chance
    assert max(fitted.history_["val_accuracy"]) > 0.6


def test_standardize_reports_components_in_original_coordinates(s1):
    x_scaled = s1.base_x * 100 + 5
    envs = [x * 100 + 5 for x in s1.env_x]
    est = ContrastiveConceptEstimator(max_epochs=2, batch_size=1024, standardize=True).fit(
        x_scaled, envs, s1.env_concepts)
    x = envs[1][:20]
    assert np.allclose(est.transform(x), x @ est.components_.T + est.intercept_, atol=1e-4)


def test_sklearn_contract_and_mlp_encoder(s1):
    est = ContrastiveConceptEstimator(encoder="mlp", hidden_dim=8, max_epochs=2, batch_size=1024)
    assert clone(est).get_params() == est.get_params()
    assert est.fit(s1.base_x, s1.env_x, s1.env_concepts) is est
    assert not hasattr(est, "components_")
    assert est.transform(s1.base_x[:10]).shape == (10, 2)
    # deterministic given random_state
    est2 = clone(est).fit(s1.base_x, s1.env_x, s1.env_concepts)
    assert np.allclose(est.transform(s1.base_x[:10]), est2.transform(s1.base_x[:10]))


def test_bad_input_raises(s1):
    est = ContrastiveConceptEstimator(max_epochs=1)
    with pytest.raises(ProbekitError, match="env_concepts"):
        est.fit(s1.base_x, s1.env_x, [0, 1])
    with pytest.raises(ProbekitError, match="features"):
        est.fit(s1.base_x, [s1.env_x[0][:, :2]], [0])
    with pytest.raises(ProbekitError, match="encoder"):
        ContrastiveConceptEstimator(encoder="cnn").fit(s1.base_x, s1.env_x, s1.env_concepts)
    with pytest.raises(ProbekitError, match="n_concepts"):
        ContrastiveConceptEstimator(n_concepts=1, max_epochs=1).fit(s1.base_x, s1.env_x, s1.env_concepts)
    with pytest.raises(ProbekitError, match="NaN"):
        bad = s1.base_x.copy()
        bad[0, 0] = np.nan
        est.fit(bad, s1.env_x, s1.env_concepts)
