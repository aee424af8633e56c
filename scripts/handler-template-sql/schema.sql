-- @NAME@: what this handler needs that db/schema.sql does not have.  scripts/db applies it
-- after db/schema.sql (so the tests and the demo have it); in production the same change goes
-- through the database's own migrations before this handler is deployed.  Keep it idempotent.
-- TODO: replace with the column your handler maintains (or delete this file if it needs none).
ALTER TABLE atd_txdot_crashes ADD COLUMN IF NOT EXISTS jurisdiction_id integer;
