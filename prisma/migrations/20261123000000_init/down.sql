-- Reverses 20261123000000_init. CASCADE takes the tables, types, functions and triggers with each schema
-- (the audit append-only trigger fires on row changes, not on DROP, so it does not get in the way).
-- btree_gist stays: extensions are database-wide and something else may rely on it.
DROP SCHEMA IF EXISTS "audit" CASCADE;
DROP SCHEMA IF EXISTS "pms" CASCADE;
DROP SCHEMA IF EXISTS "booking" CASCADE;
DROP SCHEMA IF EXISTS "hotel" CASCADE;
