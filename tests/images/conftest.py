import pytest

from trained_registry import Promoted, TrainedRegistry


@pytest.fixture(scope="module")
def production(request, trained_registry: TrainedRegistry) -> Promoted:
    """What train, the gates, register and promote returned for the module's MODEL in the session's registry."""
    return trained_registry.promoted(request.module.MODEL)


@pytest.fixture(scope="module")
def trained(request, tmp_path_factory, trained_registry: TrainedRegistry, production: Promoted):
    """A copy of the session's registry, where that run's model is v1 of the module's MODEL and holds production;
    and train's result."""
    return trained_registry.copy(tmp_path_factory.mktemp("store"), request.module.MODEL), production.trained
