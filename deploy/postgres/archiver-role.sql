-- The archiver's PostgreSQL role (docs/operations.md, "The archive's database roles"): it may
-- read and add archive rows and move a contact or a rating forward, nothing else: no DELETE,
-- no TRUNCATE, no DDL (its `--migrate false` start only reads cs_schema_migrations).
--
-- Run as the role that owns the schema (the one `cs-admin db migrate` uses), before or after
-- the migrations; running it again only sets the password again:
--
--   psql "postgres://cs_owner:...@db/cs" -v archiver_password='...' -f deploy/postgres/archiver-role.sql
\set ON_ERROR_STOP on

SELECT format('CREATE ROLE cs_archiver LOGIN PASSWORD %L', :'archiver_password')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cs_archiver') \gexec
SELECT format('ALTER ROLE cs_archiver LOGIN PASSWORD %L', :'archiver_password') \gexec

SELECT format('GRANT CONNECT ON DATABASE %I TO cs_archiver', current_database()) \gexec
GRANT USAGE ON SCHEMA public TO cs_archiver;
-- SELECT: "was it archived?", the RETURNING of new entries, the upserts' conditions;
-- INSERT: every row; UPDATE: the contact and rating upserts. Tables that exist now, and the
-- tables later migrations create as this owner.
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO cs_archiver;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE ON TABLES TO cs_archiver;
