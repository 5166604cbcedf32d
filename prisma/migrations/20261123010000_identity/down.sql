-- Reverses 20261123010000_identity: users, refresh tokens, signing keys and API keys go with the schema.
DROP SCHEMA IF EXISTS "identity" CASCADE;
