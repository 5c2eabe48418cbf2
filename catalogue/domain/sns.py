"""Amazon SNS deliveries to an event dataset: message shapes, the string SNS signs, URL rules.

As AWS documents it ("Verifying the signatures of Amazon SNS messages"): the string to sign
is each signed field's name and value, one per line, in alphabetical order, each followed
by a newline; a ``Notification`` signs Message, MessageId, Subject (only when present),
Timestamp, TopicArn and Type; a ``SubscriptionConfirmation`` and an
``UnsubscribeConfirmation`` sign Message, MessageId, SubscribeURL, Timestamp, Token,
TopicArn and Type. ``SignatureVersion`` 1 is RSA with SHA1, 2 is RSA with SHA256. The
signing certificate and the confirmation URL are trusted only on
``https://sns.<region>.amazonaws.com/``, the region being the topic's own.

Who may deliver: the topics the dataset's ``source.sns.topics`` lists (the owner sets them
with the source); the signature proves the topic, so no token is needed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from catalogue.domain.errors import InvalidValue

NOTIFICATION = "Notification"
SUBSCRIPTION_CONFIRMATION = "SubscriptionConfirmation"
UNSUBSCRIBE_CONFIRMATION = "UnsubscribeConfirmation"
CONFIRMATION_FIELDS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)
SIGNED_FIELDS = {
    NOTIFICATION: ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    SUBSCRIPTION_CONFIRMATION: CONFIRMATION_FIELDS,
    UNSUBSCRIBE_CONFIRMATION: CONFIRMATION_FIELDS,
}
# Fields that may be absent from the string to sign when absent from the message.
OPTIONAL_FIELDS = {"Subject"}
HASHES = {"1": "sha1", "2": "sha256"}
# arn:<partition>:sns:<region>:<account>:<topic name>
TOPIC_ARN = re.compile(
    r"^arn:aws[a-z-]*:sns:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d):\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$"
)
MAX_TOPICS = 20


def topic_region(topic_arn: object) -> str | None:
    """The region of an SNS topic ARN; None for text that is not one."""
    match = TOPIC_ARN.match(topic_arn) if isinstance(topic_arn, str) else None
    return match["region"] if match else None


def sns_errors(sns: object) -> tuple[dict[str, Any], dict[str, Any]]:
    """The normalised ``source.sns`` and its errors by field."""
    if not isinstance(sns, Mapping):
        return {}, {"_schema": ["must be an object with topics (SNS topic ARNs)"]}
    errors: dict[str, Any] = {name: ["unknown field"] for name in sorted(set(sns) - {"topics"})}
    topics = sns.get("topics")
    if not isinstance(topics, list) or not topics or len(topics) > MAX_TOPICS:
        errors["topics"] = [f"must be a list of 1 to {MAX_TOPICS} SNS topic ARNs"]
    else:
        wrong = [topic for topic in topics if topic_region(topic) is None]
        if wrong:
            errors["topics"] = [
                f"{wrong[0]!r} is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)"
            ]
    return {"topics": topics}, errors


def parse_message(body: object) -> dict[str, str]:
    """The SNS message of a request body; raises InvalidValue naming what is wrong.

    Every signed field of its type is a string (Subject may be absent), and so are
    ``Signature``, ``SignatureVersion`` and ``SigningCertURL``.
    """
    if not isinstance(body, Mapping):
        raise InvalidValue("body", "an SNS message is a JSON object")
    kind = body.get("Type")
    if kind not in SIGNED_FIELDS:
        raise InvalidValue("Type", f"must be one of {', '.join(SIGNED_FIELDS)}")
    for name in (*SIGNED_FIELDS[kind], "Signature", "SignatureVersion", "SigningCertURL"):
        if name in OPTIONAL_FIELDS and name not in body:
            continue
        if not isinstance(body.get(name), str):
            raise InvalidValue(name, "must be a string in an SNS message")
    if body["SignatureVersion"] not in HASHES:
        raise InvalidValue("SignatureVersion", "must be 1 or 2")
    if topic_region(body["TopicArn"]) is None:
        raise InvalidValue("TopicArn", "is not an SNS topic ARN")
    return dict(body)


def string_to_sign(message: Mapping[str, str]) -> bytes:
    """The bytes SNS signed for ``message`` (one ``parse_message`` returned)."""
    lines = []
    for name in SIGNED_FIELDS[message["Type"]]:
        if name in OPTIONAL_FIELDS and name not in message:
            continue
        lines.append(f"{name}\n{message[name]}\n")
    return "".join(lines).encode()


def sns_url_problem(url: str, region: str, *, suffix: str = "") -> str | None:
    """Why ``url`` is not one SNS of ``region`` serves; None when it is.

    It must be ``https://sns.<region>.amazonaws.com/...`` (no user, port or other host);
    with a ``suffix`` (``.pem`` for a signing certificate) its path ends with it and it
    has no query.
    """
    parts = urlsplit(url)
    host = f"sns.{region}.amazonaws.com"
    if parts.scheme != "https" or parts.netloc != host:
        return f"must be an https URL on {host}"
    if suffix and (not parts.path.endswith(suffix) or parts.query or parts.fragment):
        return f"must be a path on {host} ending in {suffix}"
    return None
