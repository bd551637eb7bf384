"""Step library shared by every Nivesh training image (see DESIGN.md, "The step contract")."""
