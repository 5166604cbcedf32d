-- Reverses 20261123210000_identity_outbox: undelivered audit events of the gateway are dropped with the table.
DROP TABLE IF EXISTS "identity"."outbox";
