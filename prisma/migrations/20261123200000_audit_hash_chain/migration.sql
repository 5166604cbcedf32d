-- Audit trail hash chain (docs/security.md "Audit trail"): every event is chained to the previous event
-- of its chain — one chain per hotel, plus the platform chain for events without a hotel — with a strictly
-- increasing chain sequence and
--   hash = SHA-256( previous hash || canonical JSON of the event )   (hex; the first previous hash is 64 × '0')
-- The database computes it (a BEFORE INSERT trigger, serialised per chain by a row lock on the chain's
-- head), so no insert path can skip or forge it; `audit.verify_chain` recomputes it for auditIntegrity
-- and `npm run audit:verify`. Rows stay append-only (the existing triggers refuse UPDATE / DELETE / TRUNCATE).

ALTER TABLE "audit"."events"
    ADD COLUMN "chain" TEXT NOT NULL DEFAULT '',
    ADD COLUMN "chain_sequence" BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN "prev_hash" TEXT NOT NULL DEFAULT '',
    ADD COLUMN "hash" TEXT NOT NULL DEFAULT '';

-- The head of each chain: its last sequence and hash. Locked FOR UPDATE by every insert into the chain.
CREATE TABLE "audit"."chain_heads" (
    "chain" TEXT NOT NULL,
    "last_sequence" BIGINT NOT NULL,
    "last_hash" TEXT NOT NULL,
    CONSTRAINT "chain_heads_pkey" PRIMARY KEY ("chain")
);

-- The canonical form that is hashed: a jsonb object (jsonb's text form is deterministic: keys sorted,
-- one spacing, numbers normalised) of every fact of the event, including its place in the chain.
CREATE FUNCTION "audit"."event_hash"(prev TEXT, e "audit"."events") RETURNS TEXT LANGUAGE sql STABLE AS $$
  SELECT encode(sha256(convert_to(prev || jsonb_build_object(
    'id', e.id,
    'chain', e.chain,
    'chainSequence', e.chain_sequence,
    'occurredAt', to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'actor', e.actor,
    'action', e.action,
    'resourceType', e.resource_type,
    'resourceId', e.resource_id,
    'hotelId', e.hotel_id,
    'correlationId', e.correlation_id,
    'details', e.details
  )::text, 'UTF8')), 'hex')
$$;

CREATE FUNCTION "audit"."chain_event"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  head_sequence BIGINT;
  head_hash TEXT;
BEGIN
  NEW.chain := COALESCE(NEW.hotel_id::text, 'platform');
  INSERT INTO "audit"."chain_heads" (chain, last_sequence, last_hash)
    VALUES (NEW.chain, 0, repeat('0', 64)) ON CONFLICT (chain) DO NOTHING;
  SELECT last_sequence, last_hash INTO head_sequence, head_hash
    FROM "audit"."chain_heads" WHERE chain = NEW.chain FOR UPDATE;
  -- An event ID already stored (a resend) is skipped here, under the chain's lock, so it can neither
  -- advance the head nor leave a gap (INSERT … ON CONFLICT DO NOTHING alone would run this trigger first).
  IF EXISTS (SELECT 1 FROM "audit"."events" WHERE id = NEW.id) THEN
    RETURN NULL;
  END IF;
  NEW.chain_sequence := head_sequence + 1;
  NEW.prev_hash := head_hash;
  NEW.hash := "audit"."event_hash"(head_hash, NEW);
  UPDATE "audit"."chain_heads" SET last_sequence = NEW.chain_sequence, last_hash = NEW.hash WHERE chain = NEW.chain;
  RETURN NEW;
END
$$;

-- Existing events join their chains in trail order (the append-only trigger is paused for the backfill only).
ALTER TABLE "audit"."events" DISABLE TRIGGER "events_no_update_delete";
DO $$
DECLARE
  r RECORD;
  head_sequence BIGINT;
  head_hash TEXT;
  chained "audit"."events";
BEGIN
  FOR r IN SELECT * FROM "audit"."events" ORDER BY sequence LOOP
    chained := r;
    chained.chain := COALESCE(r.hotel_id::text, 'platform');
    SELECT last_sequence, last_hash INTO head_sequence, head_hash FROM "audit"."chain_heads" WHERE chain = chained.chain;
    IF NOT FOUND THEN
      head_sequence := 0;
      head_hash := repeat('0', 64);
      INSERT INTO "audit"."chain_heads" VALUES (chained.chain, 0, head_hash);
    END IF;
    chained.chain_sequence := head_sequence + 1;
    chained.prev_hash := head_hash;
    chained.hash := "audit"."event_hash"(head_hash, chained);
    UPDATE "audit"."events" SET chain = chained.chain, chain_sequence = chained.chain_sequence, prev_hash = chained.prev_hash, hash = chained.hash WHERE id = r.id;
    UPDATE "audit"."chain_heads" SET last_sequence = chained.chain_sequence, last_hash = chained.hash WHERE chain = chained.chain;
  END LOOP;
END
$$;
ALTER TABLE "audit"."events" ENABLE TRIGGER "events_no_update_delete";

CREATE TRIGGER "events_chain" BEFORE INSERT ON "audit"."events"
    FOR EACH ROW EXECUTE FUNCTION "audit"."chain_event"();
CREATE UNIQUE INDEX "events_chain_chain_sequence_key" ON "audit"."events"("chain", "chain_sequence");

-- Re-verifies one chain from its first event: every row's hash recomputed from its own facts and the
-- previous row's STORED hash, the links (prev_hash = previous hash) and the sequence (no gap, no repeat).
-- A row edited, deleted or inserted behind the trigger's back is reported at its trail sequence.
CREATE FUNCTION "audit"."verify_chain"(chain_name TEXT)
RETURNS TABLE (checked_count BIGINT, first_invalid_sequence BIGINT) LANGUAGE sql STABLE AS $$
  WITH ordered AS (
    SELECT e.sequence, e.chain_sequence, e.prev_hash, e.hash, "audit"."event_hash"(e.prev_hash, e) AS recomputed,
           lag(e.hash) OVER w AS previous_hash, lag(e.chain_sequence) OVER w AS previous_sequence
      FROM "audit"."events" e
     WHERE e.chain = chain_name
    WINDOW w AS (ORDER BY e.chain_sequence)
  )
  SELECT count(*)::bigint,
         (SELECT sequence FROM ordered
           WHERE hash <> recomputed
              OR prev_hash <> COALESCE(previous_hash, repeat('0', 64))
              OR chain_sequence <> COALESCE(previous_sequence, 0) + 1
           ORDER BY chain_sequence LIMIT 1)
    FROM ordered
$$;
