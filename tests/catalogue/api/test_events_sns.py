"""Amazon SNS deliveries to an event dataset: signatures, confirmation, notifications.

SNS is played by a certificate and key made here and a real HTTP server on 127.0.0.1
serving the certificate and answering confirmations; ``sns_fetch_url`` (a setting only
tests set) sends fetches of ``https://sns.<region>.amazonaws.com/...`` there.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from flask import Flask

from catalogue.auth.sns import clear_certificates
from catalogue.settings import Settings
from tests.catalogue.api.test_events import LATEST, SOURCE, reading
from tests.fixtures.app import SITE_ADMIN
from tests.fixtures.receiver import Receiver, running_receiver

TOPIC = "arn:aws:sns:eu-north-1:123456789012:badetemperatur"
CERT_URL = "https://sns.eu-north-1.amazonaws.com/SimpleNotificationService-0123.pem"
CERT_PATH = "/SimpleNotificationService-0123.pem"
SUBSCRIBE_URL = (
    "https://sns.eu-north-1.amazonaws.com/?Action=ConfirmSubscription"
    f"&TopicArn={TOPIC}&Token=2336412f37"
)
SNS = "/datasets/bad/versions/1/events/sns"
TEXT = {"Content-Type": "text/plain; charset=UTF-8"}
AT = "2026-06-01T12:00:00Z"


def make_certificate(valid_until: datetime) -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.now(UTC) - timedelta(days=1))
        .not_valid_after(valid_until)
        .sign(key, hashes.SHA256())
    )
    return key, certificate.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def signing() -> tuple[rsa.RSAPrivateKey, bytes]:
    return make_certificate(datetime.now(UTC) + timedelta(days=30))


@pytest.fixture
def sns_server(signing) -> Iterator[Receiver]:  # type: ignore[no-untyped-def]
    clear_certificates()
    with running_receiver() as receiver:
        certificates = {CERT_PATH: signing[1]}
        receiver.certificates = certificates  # type: ignore[attr-defined]

        def answer(request: Any) -> tuple[int, bytes]:
            if request.path in certificates:
                return 200, certificates[request.path]
            if request.path.startswith("/?Action=ConfirmSubscription"):
                return 200, b"<ConfirmSubscriptionResponse/>"
            return 404, b""

        receiver.answer = answer
        yield receiver
    clear_certificates()


@pytest.fixture
def settings(tmp_path: Path, sns_server: Receiver) -> Settings:
    return Settings(
        home=tmp_path / "home",
        principal=SITE_ADMIN,
        admins=(SITE_ADMIN,),
        secret_key="test-secret",
        sns_fetch_url=sns_server.url,
    )


@pytest.fixture
def api(app: Flask):  # type: ignore[no-untyped-def]
    client = app.test_client()
    body = {"id": "bad", "title": "Bad", "accessRights": "non-public", "owner": "team:bath"}
    source = {**SOURCE, "sns": {"topics": [TOPIC]}}
    assert client.post("/datasets", json={**body, "source": source}).status_code == 201
    return client


# The fields SNS signs, as AWS's "Verifying the signatures of Amazon SNS messages" lists them.
SIGNED = {
    "Notification": ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
    "SubscriptionConfirmation": [
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ],
}
SIGNED["UnsubscribeConfirmation"] = SIGNED["SubscriptionConfirmation"]


def signed(key: rsa.RSAPrivateKey, message: dict[str, Any], version: str = "1") -> dict[str, Any]:
    text = "".join(
        f"{name}\n{message[name]}\n" for name in SIGNED[message["Type"]] if name in message
    )
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()
    signature = key.sign(text.encode(), padding.PKCS1v15(), digest)
    return {
        **message,
        "SignatureVersion": version,
        "Signature": base64.b64encode(signature).decode(),
        "SigningCertURL": message.get("SigningCertURL", CERT_URL),
    }


def notification(events: Any, message_id: str = "da41e39f-ea4d-435a-b922-c6aae3915ebe") -> dict:
    return {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": TOPIC,
        "Subject": "readings",
        "Message": json.dumps(events),
        "Timestamp": "2026-06-01T12:00:01.000Z",
        "UnsubscribeURL": "https://sns.eu-north-1.amazonaws.com/?Action=Unsubscribe",
    }


def confirmation(kind: str = "SubscriptionConfirmation", **changes: str) -> dict:
    return {
        "Type": kind,
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37",
        "TopicArn": TOPIC,
        "Message": f"You have chosen to subscribe to the topic {TOPIC}.",
        "SubscribeURL": SUBSCRIBE_URL,
        "Timestamp": "2026-06-01T12:00:00.000Z",
        **changes,
    }


def post(api, message: dict[str, Any]):  # type: ignore[no-untyped-def]
    return api.post(SNS, data=json.dumps(message), headers=TEXT)


def confirmations(server: Receiver) -> list[str]:
    return [r.path for r in server.requests if r.path.startswith("/?Action=ConfirmSubscription")]


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_subscription_is_confirmed_once_its_signature_checks_out(
    api, signing, sns_server: Receiver, version: str
) -> None:  # type: ignore[no-untyped-def]
    answer = post(api, signed(signing[0], confirmation(), version))

    assert answer.status_code == 200, answer.json
    assert answer.json == {"type": "SubscriptionConfirmation", "confirmed": True}
    assert confirmations(sns_server) == [
        SUBSCRIBE_URL.removeprefix("https://sns.eu-north-1.amazonaws.com")
    ]


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("tampered", "the message's signature does not verify"),
        (
            "foreign-subscribe-url",
            "SubscribeURL must be an https URL on sns.eu-north-1.amazonaws.com",
        ),
        ("http-subscribe-url", "SubscribeURL must be an https URL on sns.eu-north-1.amazonaws.com"),
        ("foreign-cert-url", "SigningCertURL must be an https URL on sns.eu-north-1.amazonaws.com"),
        (
            "other-region-cert",
            "SigningCertURL must be an https URL on sns.eu-north-1.amazonaws.com",
        ),
        ("not-pem", "SigningCertURL must be a path on sns.eu-north-1.amazonaws.com ending in .pem"),
        ("unknown-key", "the message's signature does not verify"),
    ],
)
def test_a_confirmation_that_does_not_check_out_is_403_and_nothing_is_fetched(
    api, signing, sns_server: Receiver, message: str, reason: str
) -> None:  # type: ignore[no-untyped-def]
    body = confirmation()
    if message == "tampered":
        body = {**signed(signing[0], body), "Token": "another-token"}
    elif message == "foreign-subscribe-url":
        body = signed(signing[0], {**body, "SubscribeURL": "https://sns.eu-north-1.example.org/x"})
    elif message == "http-subscribe-url":
        url = SUBSCRIBE_URL.replace("https:", "http:")
        body = signed(signing[0], {**body, "SubscribeURL": url})
    elif message == "foreign-cert-url":
        body = signed(signing[0], {**body, "SigningCertURL": "https://attacker.example/c.pem"})
    elif message == "other-region-cert":
        url = CERT_URL.replace("eu-north-1", "us-east-1")
        body = signed(signing[0], {**body, "SigningCertURL": url})
    elif message == "not-pem":
        body = signed(signing[0], {**body, "SigningCertURL": CERT_URL + "?x=.pem.txt"})
    else:
        other, _ = make_certificate(datetime.now(UTC) + timedelta(days=1))
        body = signed(other, body)

    answer = post(api, body)

    assert answer.status_code == 403, answer.json
    assert answer.json["message"] == reason
    assert confirmations(sns_server) == []


@pytest.mark.parametrize("version", ["1", "2"])
def test_notification_events_are_ingested_and_a_redelivery_is_accepted_once(
    api, signing, sns_server: Receiver, version: str
) -> None:  # type: ignore[no-untyped-def]
    message = signed(
        signing[0], notification([reading("s-1", AT), reading("s-2", AT, 999)]), version
    )

    first = post(api, message)
    again = post(api, message)
    one = post(api, signed(signing[0], notification(reading("s-3", AT), "m-2"), version))

    assert first.status_code == 200, first.json
    assert first.json["type"] == "Notification" and first.json["accepted"] == 1
    assert first.json["rejected"][0]["index"] == 1
    assert again.json == first.json
    assert one.json == {"type": "Notification", "accepted": 1, "rejected": []}
    assert api.get(f"{LATEST}/s-1").json["event"]["temperature"] == 18.5
    rejects = api.get("/datasets/bad/versions/1/events/rejects").json["items"]
    assert [reject["postedBy"] for reject in rejects] == [f"sns:{TOPIC}"]
    # The certificate was fetched once for the three messages.
    assert [r.path for r in sns_server.requests] == [CERT_PATH]


def test_a_topic_the_source_does_not_list_is_404_and_writes_nothing(
    api, signing, sns_server: Receiver
) -> None:  # type: ignore[no-untyped-def]
    other = TOPIC.replace("badetemperatur", "other")
    message = signed(signing[0], {**notification(reading("s-1", AT)), "TopicArn": other})

    answer = post(api, message)
    unknown = api.post(
        "/datasets/nope/versions/1/events/sns", data=json.dumps(message), headers=TEXT
    )
    subscription = post(api, signed(signing[0], confirmation(TopicArn=other)))

    assert answer.status_code == 404 and unknown.status_code == 404
    assert answer.json["message"] == (
        f"dataset 'bad' not found, or it takes no SNS deliveries from {other}"
    )
    assert subscription.status_code == 404
    assert confirmations(sns_server) == []
    assert api.get(LATEST).json["items"] == []


def test_an_unsubscribe_confirmation_is_acknowledged_and_fetches_nothing(
    api, signing, sns_server: Receiver
) -> None:  # type: ignore[no-untyped-def]
    answer = post(api, signed(signing[0], confirmation("UnsubscribeConfirmation"), "2"))

    assert answer.json == {"type": "UnsubscribeConfirmation", "confirmed": False}
    assert confirmations(sns_server) == []


def test_an_expired_certificate_is_403(api, sns_server: Receiver) -> None:  # type: ignore[no-untyped-def]
    key, pem = make_certificate(datetime.now(UTC) - timedelta(minutes=1))
    sns_server.certificates[CERT_PATH] = pem  # type: ignore[attr-defined]

    answer = post(api, signed(key, notification(reading("s-1", AT))))

    assert answer.status_code == 403
    assert answer.json["message"] == "the signing certificate is not valid now"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"Type": "Other"}, "Type"),
        (
            {**confirmation(), "SignatureVersion": "3", "Signature": "", "SigningCertURL": ""},
            "SignatureVersion",
        ),
        ({**notification([]), "SignatureVersion": "1", "Signature": "x"}, "SigningCertURL"),
    ],
)
def test_a_body_that_is_no_sns_message_is_422_naming_the_field(api, body, field: str) -> None:  # type: ignore[no-untyped-def]
    answer = post(api, body)

    assert answer.status_code == 422
    assert field in answer.json["errors"]["json"]


def test_a_notification_whose_message_holds_no_events_is_400(api, signing) -> None:  # type: ignore[no-untyped-def]
    message = notification([])
    answer = post(api, signed(signing[0], {**message, "Message": "not json"}))
    empty = post(api, signed(signing[0], message))

    assert answer.status_code == 400 and empty.status_code == 400


def test_a_notification_whose_message_holds_nan_is_400_and_writes_nothing(api, signing) -> None:  # type: ignore[no-untyped-def]
    text = '{"sensorId": "s-1", "observedAt": "2026-06-01T12:00:00Z", "temperature": NaN}'
    answer = post(api, signed(signing[0], {**notification([]), "Message": text}))

    assert answer.status_code == 400
    assert "NaN is not a JSON value" in answer.json["message"]
    assert api.get("/datasets/bad/versions/1/events/rejects").json["items"] == []


@pytest.mark.parametrize(
    ("sns", "errors"),
    [
        (
            {"topics": ["arn:aws:sqs:eu-north-1:123456789012:q"]},
            {
                "topics": [
                    "'arn:aws:sqs:eu-north-1:123456789012:q' is not an SNS topic ARN "
                    "(arn:aws:sns:<region>:<account>:<name>)"
                ]
            },
        ),
        ({"topics": []}, {"topics": ["must be a list of 1 to 20 SNS topic ARNs"]}),
        (
            {"topic": TOPIC},
            {"topic": ["unknown field"], "topics": ["must be a list of 1 to 20 SNS topic ARNs"]},
        ),
    ],
)
def test_a_broken_sns_source_is_422_naming_the_field(app: Flask, sns, errors) -> None:  # type: ignore[no-untyped-def]
    body = {"title": "X", "accessRights": "public", "owner": "team:a"}

    answer = app.test_client().post("/datasets", json={**body, "source": {**SOURCE, "sns": sns}})

    assert answer.status_code == 422
    assert answer.json["errors"]["json"]["source"]["sns"] == errors
