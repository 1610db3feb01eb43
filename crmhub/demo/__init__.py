"""``crmhub demo``: messy sample sources for three kinds of system, and the whole pipeline."""
