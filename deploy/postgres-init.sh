#!/bin/sh
# First-start initialisation of the compose Postgres (run by the postgres image's
# entrypoint from /docker-entrypoint-initdb.d, only while the data volume is empty).
#
# Creates two login roles, each owning its own databases:
#   ticketflow  owns `ticketflow`                          (the store; Alembic migrates it)
#   temporal    owns `temporal` and `temporal_visibility`  (temporal-sql-tool sets them up)
# Passwords come from TICKETFLOW_DB_PASSWORD and TEMPORAL_DB_PASSWORD and reach SQL as
# psql variables, so they are quoted by psql, never pasted into the statement text.
# (No `set -u`: if the file lost its exec bit the entrypoint would source it, and
# nounset would then leak into the entrypoint's own shell.)
set -e

: "${TICKETFLOW_DB_PASSWORD:?TICKETFLOW_DB_PASSWORD must be set}"
: "${TEMPORAL_DB_PASSWORD:?TEMPORAL_DB_PASSWORD must be set}"

psql --no-psqlrc -v ON_ERROR_STOP=1 \
    --username "${POSTGRES_USER:-postgres}" --dbname postgres \
    -v ticketflow_password="$TICKETFLOW_DB_PASSWORD" \
    -v temporal_password="$TEMPORAL_DB_PASSWORD" <<'SQL'
CREATE ROLE ticketflow LOGIN PASSWORD :'ticketflow_password';
CREATE DATABASE ticketflow OWNER ticketflow;

CREATE ROLE temporal LOGIN PASSWORD :'temporal_password';
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;
SQL
