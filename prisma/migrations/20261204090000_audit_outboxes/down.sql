-- Reverses 20261204090000_audit_outboxes: undelivered audit events of hotel and pms are dropped with the tables.
DROP TABLE IF EXISTS "pms"."outbox";
DROP TABLE IF EXISTS "hotel"."outbox";
