"""The plan for a planner: one self-contained HTML page (`render`) from the plan's tables
(`tables`, `fans`) in words (`flags`, `format`), and the run's summary figures (`summary`)."""

from .render import render_report
from .summary import lost_sales_by_reason, summarise

__all__ = ["lost_sales_by_reason", "render_report", "summarise"]
