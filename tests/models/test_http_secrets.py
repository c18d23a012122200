"""The API key never appears in an event, a log record, a repr or an error message."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from structlog.testing import capture_logs

from streamllm.errors import StreamLLMError
from streamllm.models import ChatAnthropic, ChatOpenAI, OpenAI
from streamllm.testing import RecordingHandler
from tests.servers.fault_server import FaultServer

KEY = "sk-very-secret-1234567890"


def _texts(value: Any) -> list[str]:
    """str and repr of a value and of its exception chain."""
    out = [str(value), repr(value)]
    if isinstance(value, BaseException):
        out.append(str(getattr(value, "body", "")))
        for linked in (value.__cause__, value.__context__):
            if linked is not None:
                out += [str(linked), repr(linked)]
    return out


@pytest.mark.parametrize("fault", ["ok", "401", "429", "drop", "error_frame", "malformed"])
@pytest.mark.parametrize("cls", [ChatOpenAI, OpenAI, ChatAnthropic])
def test_key_is_never_shown(
    fault_server: FaultServer, caplog: pytest.LogCaptureFixture, fault: str, cls: type[Any]
) -> None:
    """Everything a user can see of a run, successful or failed, is free of the key."""
    caplog.set_level(logging.DEBUG)
    base = fault_server.base_url(fault, uuid.uuid4().hex, 5)
    if cls is ChatAnthropic:
        base = base.removesuffix("/v1")  # Anthropic's base_url is the host root
    model = cls(base_url=base, api_key=KEY, retry_base_delay=0.0)
    recorder = RecordingHandler()
    seen: list[str] = [repr(model), str(model), model.model_dump_json(), str(model.__dict__)]
    with capture_logs() as logs:
        try:
            model.invoke("hi", callbacks=[recorder])
        except StreamLLMError as exc:
            seen += _texts(exc)
    model.close()
    seen += [event.model_dump_json() for event in recorder.events]
    seen += [str(entry) for entry in logs]
    seen += [record.getMessage() + str(record.__dict__) for record in caplog.records]
    seen.append(str(model.invocation_params))
    leaked = [text for text in seen if KEY in text]
    assert not leaked
