-- Reverses 20261123200000_audit_hash_chain: the events stay, their chain columns and the verifier go.
DROP FUNCTION IF EXISTS "audit"."verify_chain"(TEXT);
DROP TRIGGER IF EXISTS "events_chain" ON "audit"."events";
DROP FUNCTION IF EXISTS "audit"."chain_event"();
DROP INDEX IF EXISTS "audit"."events_chain_chain_sequence_key";
DROP FUNCTION IF EXISTS "audit"."event_hash"(TEXT, "audit"."events");
DROP TABLE IF EXISTS "audit"."chain_heads";
ALTER TABLE "audit"."events" DROP COLUMN IF EXISTS "chain", DROP COLUMN IF EXISTS "chain_sequence", DROP COLUMN IF EXISTS "prev_hash", DROP COLUMN IF EXISTS "hash";
