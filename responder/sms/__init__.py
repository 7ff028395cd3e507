"""SMS text rules: GSM 03.38 alphabet, segment counting, smart encoding and splitting."""

from responder.sms.segments import SegmentCount, count_segments, first_non_gsm
from responder.sms.smart import smart_encode
from responder.sms.split import split_for_limit, validate_reply

__all__ = [
    "SegmentCount",
    "count_segments",
    "first_non_gsm",
    "smart_encode",
    "split_for_limit",
    "validate_reply",
]
