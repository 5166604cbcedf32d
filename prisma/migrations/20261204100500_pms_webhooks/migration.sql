-- Signed PMS webhooks (subgraphs/pms/src/webhooks.ts): one row per accepted vendor event. The unique
-- (vendor, event_id) pair is the replay guard: the row is inserted in the same transaction as the event's
-- effect, so a second delivery of the same event ID is refused and a failed one leaves no row (the vendor
-- may retry it).
CREATE TABLE "pms"."webhook_events" (
    "id" UUID NOT NULL,
    "vendor" TEXT NOT NULL,
    "event_id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "booking_id" UUID,
    "hotel_id" UUID,
    "signed_at" TIMESTAMPTZ(3) NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "correlation_id" TEXT,
    CONSTRAINT "webhook_events_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "webhook_events_vendor_event_id_key" ON "pms"."webhook_events"("vendor", "event_id");
CREATE INDEX "webhook_events_received_at_idx" ON "pms"."webhook_events"("received_at");
