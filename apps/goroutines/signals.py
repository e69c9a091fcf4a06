"""Signals other rooms listen to, so findings never import what reads them."""
from django.dispatch import Signal

# sent after a service's blocking sites were re-scored; kwargs: service_id
findings_updated = Signal()
