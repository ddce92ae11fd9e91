"""A local stand-in for Stripe's HTTP API: enough of /v1 for our billing flow.

It runs on 127.0.0.1 in a thread; the official `stripe` SDK really sends its form-encoded
requests here (`STRIPE_API_BASE`). Every request is recorded, and the answers are shaped like
Stripe's own objects for the SDK's pinned API version (billing periods on subscription items).
Test tokens behave like Stripe's: `tok_chargeDeclined` / `tok_visa_chargeDeclined` fail when the
card is attached to a customer, `tok_chargeCustomerFail` attaches but fails the first charge.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

API_VERSION = "2026-10-28.endive"
DECLINE_ON_ATTACH = {"tok_chargeDeclined", "tok_visa_chargeDeclined"}
DECLINE_ON_CHARGE = {"tok_chargeCustomerFail"}


class StripeFailure(Exception):
    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {
            "error": {
                k: v
                for k, v in {
                    "type": type_,
                    "message": message,
                    "code": code,
                    "param": param,
                    "decline_code": decline_code,
                    "doc_url": f"https://stripe.com/docs/error-codes/{code}" if code else None,
                }.items()
                if v
            }
        }


def card_declined() -> StripeFailure:
    return StripeFailure(402, "card_error", "Your card was declined.", "card_declined", decline_code="generic_decline")


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, Any]
    headers: dict[str, str]


@dataclass
class FakeStripe:
    """State and request log of the fake; the HTTP handler below drives it."""

    api_key_prefix: str = "sk_test_"
    requests: list[Recorded] = field(default_factory=list)
    prices: dict[str, dict] = field(default_factory=dict)  # by lookup_key
    payment_methods: dict[str, dict] = field(default_factory=dict)
    customers: dict[str, dict] = field(default_factory=dict)
    subscriptions: dict[str, dict] = field(default_factory=dict)
    failures: dict[str, StripeFailure] = field(default_factory=dict)  # "POST /v1/subscriptions" -> next answer
    url: str = ""
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # ---- helpers for tests ------------------------------------------------------------------
    def add_price(self, lookup_key: str, unit_amount: int, interval: str, currency: str = "usd") -> dict:
        price = {
            "id": self.new_id("price"),
            "object": "price",
            "active": True,
            "currency": currency,
            "lookup_key": lookup_key,
            "unit_amount": unit_amount,
            "type": "recurring",
            "recurring": {"interval": interval, "interval_count": 1, "usage_type": "licensed"},
            "product": self.new_id("prod"),
            "livemode": False,
            "created": int(time.time()),
            "billing_scheme": "per_unit",
            "metadata": {},
        }
        self.prices[lookup_key] = price
        return price

    def fail_next(self, route: str, failure: StripeFailure) -> None:
        """Answer the next request to `route` ("POST /v1/subscriptions") with this error."""
        self.failures[route] = failure

    def calls(self, method: str, path_prefix: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._ids):014d}"

    # ---- the API ----------------------------------------------------------------------------
    def handle(self, method: str, path: str, params: dict, headers: dict[str, str]) -> tuple[int, dict]:
        with self._lock:
            self.requests.append(Recorded(method, path, params, headers))
            try:
                self._authenticate(headers)
                route = f"{method} {'/'.join(path.split('/')[:3])}"
                if route in self.failures:
                    raise self.failures.pop(route)
                return 200, self._route(method, path.strip("/").split("/")[1:], params)
            except StripeFailure as failure:
                return failure.status, failure.body

    def _authenticate(self, headers: dict[str, str]) -> None:
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer " + self.api_key_prefix):
            raise StripeFailure(401, "invalid_request_error", "Invalid API Key provided")

    def _route(self, method: str, parts: list[str], params: dict) -> dict:
        resource, rest = parts[0], parts[1:]
        handler = getattr(self, f"_{method.lower()}_{resource}", None)
        if handler is None:
            raise StripeFailure(404, "invalid_request_error", f"Unrecognized request URL ({method} /v1/{resource})")
        return handler(rest, params)

    def _get_prices(self, rest: list[str], params: dict) -> dict:
        keys = params.get("lookup_keys") or []
        data = [p for k, p in self.prices.items() if k in keys and p["active"]]
        return {"object": "list", "data": data[: int(params.get("limit", 10))], "has_more": False, "url": "/v1/prices"}

    def _post_payment_methods(self, rest: list[str], params: dict) -> dict:
        if rest:  # /v1/payment_methods/{id}/attach
            return self._attach(rest[0], params["customer"])
        token = (params.get("card") or {}).get("token", "")
        if params.get("type") != "card" or not token.startswith("tok_"):
            raise StripeFailure(
                400, "invalid_request_error", f"No such token: '{token}'", "resource_missing", param="card[token]"
            )
        pm = {
            "id": self.new_id("pm"),
            "object": "payment_method",
            "type": "card",
            "customer": None,
            "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2034, "country": "US"},
            "billing_details": {},
            "created": int(time.time()),
            "livemode": False,
            "metadata": {},
        }
        self.payment_methods[pm["id"]] = {"object": pm, "token": token}
        return pm

    def _attach(self, pm_id: str, customer_id: str) -> dict:
        entry = self.payment_methods.get(pm_id)
        if entry is None:
            raise StripeFailure(
                400,
                "invalid_request_error",
                f"No such PaymentMethod: '{pm_id}'",
                "resource_missing",
                param="payment_method",
            )
        self._customer(customer_id)
        if entry["token"] in DECLINE_ON_ATTACH:
            raise card_declined()
        entry["object"]["customer"] = customer_id
        return entry["object"]

    def _post_customers(self, rest: list[str], params: dict) -> dict:
        if rest:
            customer = self._customer(rest[0])
            customer["metadata"].update(params.get("metadata") or {})
            return customer
        customer = {
            "id": self.new_id("cus"),
            "object": "customer",
            "created": int(time.time()),
            "livemode": False,
            "email": params.get("email"),
            "metadata": params.get("metadata") or {},
            "invoice_settings": {"default_payment_method": None},
        }
        self.customers[customer["id"]] = customer
        return customer

    def _delete_customers(self, rest: list[str], params: dict) -> dict:
        self._customer(rest[0])
        del self.customers[rest[0]]
        return {"id": rest[0], "object": "customer", "deleted": True}

    def _customer(self, customer_id: str) -> dict:
        if customer_id not in self.customers:
            raise StripeFailure(
                400, "invalid_request_error", f"No such customer: '{customer_id}'", "resource_missing", param="customer"
            )
        return self.customers[customer_id]

    def _post_subscriptions(self, rest: list[str], params: dict) -> dict:
        if rest:
            return self._update_subscription(self._subscription(rest[0]), params)
        self._customer(params["customer"])
        price = next((p for p in self.prices.values() if p["id"] == params["items"][0]["price"]), None)
        pm = self.payment_methods.get(params.get("default_payment_method", ""))
        if price is None or pm is None or pm["object"]["customer"] != params["customer"]:
            raise StripeFailure(
                400, "invalid_request_error", "The customer has no attached payment source", "resource_missing"
            )
        if pm["token"] in DECLINE_ON_CHARGE:
            raise card_declined()  # payment_behavior=error_if_incomplete: no subscription is created
        return self._new_subscription(params, price)

    def _new_subscription(self, params: dict, price: dict) -> dict:
        now = int(time.time())
        sub_id = self.new_id("sub")
        item = {
            "id": self.new_id("si"),
            "object": "subscription_item",
            "price": price,
            "quantity": 1,
            "subscription": sub_id,
            "created": now,
            "metadata": {},
            "current_period_start": now,
            "current_period_end": period_end(now, price["recurring"]["interval"]),
        }
        sub = {
            "id": sub_id,
            "object": "subscription",
            "customer": params["customer"],
            "status": "active",
            "cancel_at_period_end": False,
            "cancel_at": None,
            "canceled_at": None,
            "ended_at": None,
            "collection_method": "charge_automatically",
            "currency": price["currency"],
            "created": now,
            "start_date": now,
            "default_payment_method": params["default_payment_method"],
            "latest_invoice": self.new_id("in"),
            "livemode": False,
            "metadata": params.get("metadata") or {},
            "items": {
                "object": "list",
                "data": [item],
                "has_more": False,
                "total_count": 1,
                "url": f"/v1/subscription_items?subscription={sub_id}",
            },
        }
        self.subscriptions[sub_id] = sub
        return sub

    def _update_subscription(self, sub: dict, params: dict) -> dict:
        if str(params.get("cancel_at_period_end")).lower() == "true":
            sub.update(
                cancel_at_period_end=True,
                canceled_at=int(time.time()),
                cancel_at=sub["items"]["data"][0]["current_period_end"],
            )
        return sub

    def _get_subscriptions(self, rest: list[str], params: dict) -> dict:
        return self._subscription(rest[0])

    def _delete_subscriptions(self, rest: list[str], params: dict) -> dict:
        sub = self._subscription(rest[0])
        sub.update(status="canceled", canceled_at=int(time.time()), ended_at=int(time.time()))
        return sub

    def _subscription(self, sub_id: str) -> dict:
        if sub_id not in self.subscriptions:
            raise StripeFailure(
                404, "invalid_request_error", f"No such subscription: '{sub_id}'", "resource_missing", param="id"
            )
        return self.subscriptions[sub_id]

    # ---- events -----------------------------------------------------------------------------
    def event(self, type_: str, obj: dict) -> bytes:
        return json.dumps(
            {
                "id": self.new_id("evt"),
                "object": "event",
                "type": type_,
                "api_version": API_VERSION,
                "created": int(time.time()),
                "livemode": False,
                "pending_webhooks": 1,
                "data": {"object": obj},
            }
        ).encode()

    def invoice_for(self, sub_id: str) -> dict:
        """An invoice.paid payload object as the current API shapes it (subscription under `parent`)."""
        sub = self._subscription(sub_id)
        return {
            "id": self.new_id("in"),
            "object": "invoice",
            "status": "paid",
            "customer": sub["customer"],
            "parent": {
                "type": "subscription_details",
                "subscription_details": {"subscription": sub_id, "metadata": sub["metadata"]},
            },
        }


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header Stripe would send for this payload."""
    timestamp = timestamp or int(time.time())
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def period_end(start: int, interval: str) -> int:
    day = datetime.fromtimestamp(start, UTC)
    months = 12 if interval == "year" else 1
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    end = day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))
    return int(end.timestamp())


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's bracket encoding (`items[0][price]=x`, `metadata[k]=v`) back into dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        names = key.replace("]", "").split("[")
        node = root
        for name in names[:-1]:
            node = node.setdefault(name, {})
        node[names[-1]] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    node = {k: _lists(v) for k, v in node.items()}
    if node and all(k.isdigit() for k in node):
        return [node[k] for k in sorted(node, key=int)]
    return node


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeStripe

    def _serve(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        pairs = parse_qsl(url.query, keep_blank_values=True) + parse_qsl(body, keep_blank_values=True)
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, payload = self.fake.handle(self.command, url.path, decode_form(pairs), headers)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", f"req_{int(time.time() * 1000)}")
        self.send_header("Stripe-Version", API_VERSION)
        if status >= 500:
            self.send_header("Stripe-Should-Retry", "false")
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _serve

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass


class StripeServer:
    """`with StripeServer() as fake:` serves a fresh FakeStripe at `fake.url`."""

    def __init__(self) -> None:
        self.fake = FakeStripe()
        handler = type("Handler", (_Handler,), {"fake": self.fake})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.fake.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="fake-stripe", daemon=True)

    def __enter__(self) -> FakeStripe:
        self.thread.start()
        return self.fake

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
