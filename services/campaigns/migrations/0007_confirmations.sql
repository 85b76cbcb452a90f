-- Double opt-in: a confirmed subscription, once per message (the link of the mail a
-- `consent_pending` journey sent). Contacts decides, from SubscriptionConfirmed.
CREATE TABLE confirmations (
    message_id  uuid PRIMARY KEY REFERENCES messages (id),
    customer_id uuid        NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);
