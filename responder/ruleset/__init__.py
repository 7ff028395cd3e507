"""The rules language: YAML rule files -> a Ruleset that answers messages; lint; hot reload."""

from responder.ruleset.loader import check_ruleset, load_ruleset
from responder.ruleset.model import (
    Action,
    Evaluation,
    ForwardSms,
    ForwardUrl,
    Handoff,
    MessageContext,
    StateChange,
    Tag,
)
from responder.ruleset.problems import Problem, RuleSetError
from responder.ruleset.reload import RulesetHolder
from responder.ruleset.ruleset import Ruleset
from responder.ruleset.trace import Trace

__all__ = [
    "Action",
    "Evaluation",
    "ForwardSms",
    "ForwardUrl",
    "Handoff",
    "MessageContext",
    "Problem",
    "RuleSetError",
    "Ruleset",
    "RulesetHolder",
    "StateChange",
    "Tag",
    "Trace",
    "check_ruleset",
    "load_ruleset",
]
