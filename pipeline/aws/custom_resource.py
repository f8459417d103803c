"""CloudFormation's custom-resource protocol for a Lambda-backed resource, without a framework.

CloudFormation invokes the function with a request (Create, Update or Delete) and waits,
up to an hour, for a JSON response PUT to the request's pre-signed `ResponseURL`.
A function that fails without answering leaves the stack hanging for that hour, so
`answer` always answers: SUCCESS, or FAILED with a one-line reason CloudFormation shows
in the stack's events.
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html
"""

from __future__ import annotations

import json
import logging
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger(__name__)

# CloudFormation truncates a longer reason; keep ours readable in the console.
MAX_REASON = 400


def put_response(url: str, body: bytes) -> None:
    """PUT the response to the pre-signed S3 URL (no content type: the URL is signed without).

    Only http(s): a `file:` or other scheme in a request is refused, never opened.
    """
    if urllib.parse.urlsplit(url).scheme not in ("https", "http"):
        raise ValueError(f"refusing a ResponseURL that is not http(s): {url[:60]!r}")
    headers = {"Content-Type": "", "Content-Length": str(len(body))}
    request = urllib.request.Request(url, data=body, method="PUT", headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310 (scheme checked)
        reply.read()


def answer(
    event: Mapping[str, Any],
    apply: Callable[[Mapping[str, Any]], None],
    *,
    put: Callable[[str, bytes], None] = put_response,
) -> str:
    """Run `apply(properties)` for Create and Update, nothing for Delete; always respond.

    Returns the status sent. Delete does nothing and succeeds: it also comes after a
    failed Create (on rollback), where failing again would leave the stack in
    ROLLBACK_FAILED. The physical id stays the same across updates, so CloudFormation
    never replaces (and deletes) the resource.
    """
    physical_id = event.get("PhysicalResourceId") or f"{event['LogicalResourceId']}"
    status, reason = "SUCCESS", "done"
    try:
        if event["RequestType"] in ("Create", "Update"):
            apply(event["ResourceProperties"])
    except Exception as exc:
        log.exception("custom resource %s failed", event["RequestType"])
        status = "FAILED"
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:MAX_REASON]
    body = json.dumps({
        "Status": status,
        "Reason": reason,
        "PhysicalResourceId": physical_id,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
    }).encode()
    put(event["ResponseURL"], body)
    return status
