"""probekit.steering: add vectors to activations (also per attention head) while a model runs."""

from probekit.steering.directions import (
    SteeringMatrix,
    projection_std,
    random_direction,
    unit,
)
from probekit.steering.heads import HeadSite, attention_head_sites, head_interventions, split_heads
from probekit.steering.selftest import check_steering, steering_deltas
from probekit.steering.sentence import SentenceEmbedder
from probekit.steering.hooks import Intervention, Steering, forward_offset, position_mask, steer, steering_site
from probekit.steering.head_methods import STEER_METHODS, head_directions, head_intervention_factory

__all__ = [
    "HeadSite",
    "SentenceEmbedder",
    "check_steering",
    "steering_deltas",
    "Intervention",
    "Steering",
    "SteeringMatrix",
    "attention_head_sites",
    "forward_offset",
    "head_interventions",
    "position_mask",
    "projection_std",
    "random_direction",
    "split_heads",
    "steer",
    "steering_site",
    "unit",
]

__all__ += ["STEER_METHODS", "head_directions", "head_intervention_factory"]
