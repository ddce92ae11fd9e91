"""Billing: premium plans sold through a payment provider.

Configuration
- `STRIPE_SECRET_KEY` (sk_live_/sk_test_): selects the Stripe provider. Empty selects the fake provider,
  which activates every subscription at once without charging (development and tests only;
  `APP_ENV=production` refuses to start without a key). The fake declines `tok_chargeDeclined`.
- Stripe account: one active recurring Price per plan in `plans.py`, with `lookup_key` equal to the plan
  id (`premium_monthly`, `premium_yearly`) and the same amount, currency and interval; otherwise
  subscribing answers 503 `billing_unavailable` and logs the mismatch.
- `STRIPE_WEBHOOK_SECRET` (whsec_...): enables `POST /api/v1/billing/webhook`. Point a Stripe webhook
  endpoint at it with the events `customer.subscription.created`, `customer.subscription.updated`,
  `customer.subscription.deleted` and `invoice.paid`. Without webhooks a subscription is premium until the
  end of the period paid at signup (`expires_at`), and renewals are not seen.
- `STRIPE_API_BASE`: tests only (a local fake of Stripe's HTTP API).

Rules
- A subscriptions row is written only after Stripe accepted the payment, inside the request's unit of
  work; a declined card (402 `payment_failed`) leaves nothing behind. If the row cannot be written the
  Stripe subscription is cancelled again; if the process dies in between, the subscription's next webhook
  event records it (its metadata carries `user_id` and `plan_id`).
- One purchase per user at a time (PostgreSQL advisory lock held by the request's transaction), and at
  most one active subscription: a second subscribe is 409 `already_subscribed`.
- `SubscriptionRepository.is_premium(user_id)` is what other domains ask.
"""
