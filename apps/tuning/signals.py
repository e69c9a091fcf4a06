"""Signals other rooms listen to, so tuning never imports what reads it."""
from django.dispatch import Signal

# sent after a service's recommendation was recomputed; kwargs: service_id
recommendation_updated = Signal()
