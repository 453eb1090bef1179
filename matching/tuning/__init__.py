"""Analyst tuning: versioned weight profiles, outcome feedback, evaluation, fitting, previews and
graph suggestions learned from outcomes (DESIGN.md §1, third user)."""

from matching.tuning.feedback import OUTCOME_GRADES, FeedbackEvent, FeedbackStore, Outcome, RecordResult
from matching.tuning.profiles import ProfileStore, ProfileVersion, parse_spec

__all__ = [
    "OUTCOME_GRADES",
    "FeedbackEvent",
    "FeedbackStore",
    "Outcome",
    "ProfileStore",
    "ProfileVersion",
    "RecordResult",
    "parse_spec",
]
