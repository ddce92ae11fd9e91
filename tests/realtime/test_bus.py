"""The realtime event envelope: replicas route by its header and forward the frame untouched."""

from __future__ import annotations

import json
import uuid

from deployments.realtime.bus import SEP, decode_event, encode_event


def test_a_new_message_envelope_names_the_sender_and_the_excluded_session():
    sender, session = uuid.uuid4(), uuid.uuid4()
    message = {"id": str(uuid.uuid4()), "sender_id": str(sender), "content": "hi"}
    envelope = decode_event(encode_event("new_message", {"message": message}, session))
    assert (envelope.event, envelope.counterpart, envelope.exclude_session) == (
        "new_message",
        str(sender),
        str(session),
    )
    assert json.loads(envelope.frame) == {"event": "new_message", "data": {"message": message}}


def test_the_separator_inside_user_content_cannot_split_the_frame():
    data = {"message": {"sender_id": "u1", "content": f"a{SEP}b{SEP}c{SEP}d"}}
    envelope = decode_event(encode_event("new_message", data))
    assert envelope.exclude_session == "" and json.loads(envelope.frame)["data"] == data


def test_events_about_nobody_else_have_no_counterpart_and_garbage_is_rejected():
    assert decode_event(encode_event("match_removed", {"match_id": "m"})).counterpart == ""
    assert decode_event('{"event": "new_message"}') is None
