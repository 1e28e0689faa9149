-- Delivery of e-mail and SMS from the outbox (issue 4): attempts with
-- backoff, the last error, and a final failure an admin can retry.
ALTER TABLE outbox_events ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox_events ADD COLUMN next_attempt_at BIGINT;
ALTER TABLE outbox_events ADD COLUMN last_error TEXT;
ALTER TABLE outbox_events ADD COLUMN failed_at BIGINT;
CREATE INDEX outbox_events_deliverable ON outbox_events(id)
    WHERE delivered_at IS NULL AND failed_at IS NULL AND topic IN ('email', 'sms');
