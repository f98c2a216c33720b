#!/bin/sh
# Run once by the postgres image when its volume is initialised (docker-entrypoint-initdb.d):
# creates cs_archiver with only the rights the archiver needs (archiver-role.sql).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v archiver_password="$CS_PG_PASSWORD_ARCHIVER" -f /etc/cs/archiver-role.sql
