"""Matches events against an EventBridge event pattern with moto's implementation of EventBridge's matching.

moto's server does not implement TestEventPattern, but moto's rules match events with this class, so it is an
independent matcher (content filters: exact values, prefix, exists, anything-but, numeric, $or) to hold the
stack's rule patterns against. Reads {"pattern": {...}, "events": [...]} as JSON on stdin, prints a JSON list
of booleans, one per event.
"""

import json
import sys

from moto.events.models import EventPattern

request = json.load(sys.stdin)
pattern = EventPattern.load(json.dumps(request["pattern"]))
print(json.dumps([pattern.matches_event(event) for event in request["events"]]))
