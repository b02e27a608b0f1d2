-- The shared job table of a dovecot-mailmove cluster in PostgreSQL (see
-- doc/cluster.md), reached through Dovecot's dict process
-- (dict-sql.conf.ext beside this file).
--
-- This file is also the migration script: every statement is idempotent,
-- so running it again on any older schema brings it up to the current
-- version, and mailmove_schema records which version the database has.
--   psql -v ON_ERROR_STOP=1 -f mailmove-cluster.sql <database>
--
-- Keys' user and backend names arrive percent-encoded (every byte outside
-- A-Za-z0-9.-_@+ as %XX); the columns keep that form.

BEGIN;

CREATE TABLE IF NOT EXISTS mailmove_schema (
    version integer NOT NULL
);

-- Version 1 -----------------------------------------------------------------

-- mailmove/job/<user>: the job record (tab-separated key=value fields).
CREATE TABLE IF NOT EXISTS mailmove_job (
    username text PRIMARY KEY,
    record text NOT NULL
);

-- mailmove/lease/<user>: "<backend> TAB <expiry> TAB <user>" while a run is on.
CREATE TABLE IF NOT EXISTS mailmove_lease (
    username text PRIMARY KEY,
    lease text NOT NULL
);

-- mailmove/slot/<i>: the cluster's worker slots, leases too.
CREATE TABLE IF NOT EXISTS mailmove_slot (
    slot text PRIMARY KEY,
    lease text NOT NULL
);

-- mailmove/index/<backend>/<block> and mailmove/index/<backend>/count.
CREATE TABLE IF NOT EXISTS mailmove_index (
    backend text NOT NULL,
    block text NOT NULL,
    users text NOT NULL,
    PRIMARY KEY (backend, block)
);

-- mailmove/backends, mailmove/windows, mailmove/domains.
CREATE TABLE IF NOT EXISTS mailmove_meta (
    name text PRIMARY KEY,
    value text NOT NULL
);

-- Version 2: the shared credential vault, folder rows ---------------------

-- mailmove/cred/<scope>: a sealed credential record (the password encrypted
-- with the vault key, which is never stored here).
CREATE TABLE IF NOT EXISTS mailmove_credential (
    scope text PRIMARY KEY,
    record text NOT NULL
);

-- mailmove/cred-index/<backend>/<block> and .../count.
CREATE TABLE IF NOT EXISTS mailmove_credential_index (
    backend text NOT NULL,
    block text NOT NULL,
    scopes text NOT NULL,
    PRIMARY KEY (backend, block)
);

-- mailmove/vault-check (the key check value) is a row of mailmove_meta.

-- mailmove/folders/<user>: the `status -F` rows of a move while it runs
-- (written by the running backend at each lease renewal, deleted at the
-- run's end).
CREATE TABLE IF NOT EXISTS mailmove_folders (
    username text PRIMARY KEY,
    folder_rows text NOT NULL
);

-- Later versions add their statements here, each idempotent, and raise
-- the number below.

DELETE FROM mailmove_schema;
INSERT INTO mailmove_schema (version) VALUES (2);

COMMIT;
