"""The GPU benchmark's configurations run (on the CPU here, with a tiny DistilBERT) and report what they measure."""

import pytest

from nivesh_intent.fine_tuning import TrainingConfig
from nivesh_platform.gpu_bench import measure


@pytest.mark.parametrize("configuration", ["project", "plain-fp32"])
def test_each_configuration_trains_and_reports_its_rates(configuration):
    config = TrainingConfig(epochs=1, batch_size=16, learning_rate=1e-3, patience=1)
    measured = measure(configuration, config, shape="tiny", per_intent=12)
    assert measured.configuration == configuration and measured.batch_size == 16
    assert measured.step_samples_per_second > 0 and measured.trainer_samples_per_second > 0
    assert measured.peak_gpu_gib is None  # no GPU here
    assert 0 <= measured.validation_macro_f1 <= 1
