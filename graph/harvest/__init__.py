"""Harvesting an OAI-PMH endpoint into the store: ``client`` (requests, retries, OAI-PMH
errors), ``pages`` (ListRecords answers read into records), ``harvester`` (the run, resumable
from its state) and ``state`` (the state file). Records go through ``graph.loading`` as a
file's do.
"""

from policykg.graph.harvest.client import HarvestError, Target, Window
from policykg.graph.harvest.harvester import HarvestResult, run_harvest, status_lines

__all__ = ["HarvestError", "HarvestResult", "Target", "Window", "run_harvest", "status_lines"]
