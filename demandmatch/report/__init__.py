"""The plan for people: one self-contained HTML page (`render_report`), the spreadsheet-ready
files beside it, and the one writer of every output file of a run (`write_outputs`); the run's
summary figures (`summarise`).

Modules: outputs (write_outputs), details (plan and allocation with titles, prices, spend,
reasons, compliance), spreadsheet (CSV and XLSX cells), render (the page) from orders,
streams, attention, how, fans, charts, tables, reasons and format; summary.
"""

from .outputs import OUTPUT_FILES, write_outputs
from .render import render_report
from .summary import lost_sales_by_reason, summarise

__all__ = ["OUTPUT_FILES", "lost_sales_by_reason", "render_report", "summarise", "write_outputs"]
