-- Reverses 20261204100500_pms_webhooks: the replay guard goes with the table (events received before
-- could be applied again if a vendor re-sent them).
DROP TABLE IF EXISTS "pms"."webhook_events";
