"""The event spine: the webhook receiver (inbox), the event outbox, retries, dead letters and
Glue's own outgoing webhooks (DESIGN.md section 8)."""
