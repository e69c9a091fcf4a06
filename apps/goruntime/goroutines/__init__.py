"""Goroutine engine: parse every Go goroutine dump format, group by stack and
blocking site, diff snapshots and score leaks. Pure Python, no Django.

Public API (contract with the Django pipeline, see apps/goruntime/README.md):
parse_dump, group_dump, score_site, analyze, diff_groups, PATTERNS, BENIGN,
ParseError and the data types below.
"""
from ..common import ParseError
from .analyze import SHAPE_FIELDS, analyze, dump_id_span, site_shapes
from .detect import FORMATS, detect_format, parse_dump
from .diff import diff_groups
from .grouping import group_dump, spawn_tree
from .model import Benign, Dump, Frame, Goroutine, Group, Pattern, Record, SiteHistory, Verdict
from .patterns import BENIGN, PATTERNS
from .scoring import SUSPECT_THRESHOLD, rank_group, score_site

__all__ = [
    "ParseError", "parse_dump", "detect_format", "FORMATS", "group_dump", "spawn_tree",
    "score_site", "rank_group", "SUSPECT_THRESHOLD", "analyze", "diff_groups", "PATTERNS",
    "BENIGN", "Benign", "Dump", "Frame", "Goroutine", "Group", "Pattern", "Record",
    "SiteHistory", "Verdict", "site_shapes", "dump_id_span", "SHAPE_FIELDS",
]
