"""API errors are logged as one line naming the status and the server's message."""

from __future__ import annotations

import json

from kubernetes.client.exceptions import ApiException

from cango_operator.operator.kube import describe, is_status


class TestDescribe:
    def test_an_api_error_is_its_status_and_the_servers_message(self) -> None:
        exc = ApiException(status=500, reason="Internal Server Error")
        exc.body = json.dumps({"message": 'failed to allocate a serviceIP for Service "x"'})
        assert describe(exc) == 'HTTP 500: failed to allocate a serviceIP for Service "x"'
        assert is_status(exc, 409, 500)
        assert not is_status(exc, 404)

    def test_an_error_without_a_json_body_falls_back_to_the_reason(self) -> None:
        exc = ApiException(status=503, reason="Service Unavailable")
        exc.body = "busy"
        assert describe(exc) == "HTTP 503: Service Unavailable"
        assert describe(TimeoutError("read timed out")) == "TimeoutError: read timed out"
