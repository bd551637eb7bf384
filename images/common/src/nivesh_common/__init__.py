"""Step library shared by every Nivesh training image (README, "The step contract")."""
