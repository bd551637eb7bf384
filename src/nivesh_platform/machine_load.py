"""How busy this machine was while Airflow ran: a failure then says whether the machine, not the data, is to blame."""

import os
from dataclasses import dataclass

# Runnable processes per core above which Airflow's components answer each other late (measured: a master run
# failed at a load average of 7-9 on 2 cores, its task's calls to the API server timing out).
OVERLOADED_PER_CORE = 2.0


@dataclass
class LoadWatch:
    """The highest 1-minute load average seen at the samples taken while a run is followed."""

    cores: int = os.cpu_count() or 1
    peak: float = 0.0

    def sample(self) -> None:
        self.peak = max(self.peak, os.getloadavg()[0])

    @property
    def overloaded(self) -> bool:
        return self.peak > OVERLOADED_PER_CORE * self.cores

    def failure_note(self) -> str:
        """A sentence for a failed run's report; empty where the machine was not overloaded."""
        if not self.overloaded:
            return ""
        return (
            f"The machine was overloaded during the run (load average up to {self.peak:.1f} on {self.cores} cores): "
            "Airflow's components may have timed out calling each other. Run it again when the machine is quieter."
        )
