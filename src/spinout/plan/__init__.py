"""The plan: TOML parsed once into frozen, validated models, and checked against the source repository."""

from spinout.plan.load import load_plan, parse_plan
from spinout.plan.model import ConfigRule, Core, Plan, Service

__all__ = ["ConfigRule", "Core", "Plan", "Service", "load_plan", "parse_plan"]
