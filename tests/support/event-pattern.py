"""EventBridge pattern matching by moto (an implementation independent of the broker), for tests.

Reads {"pattern": {...}, "events": [{...}, ...]} on stdin and prints a JSON list of booleans: whether each
event matches. The pattern goes through moto's parser and validation first, as PutRule would take it.
"""
import json
import sys

from moto.events.models import EventPattern

request = json.load(sys.stdin)
pattern = EventPattern.load(json.dumps(request["pattern"]))
print(json.dumps([pattern.matches_event(event) for event in request["events"]]))
