-- One database per service, each owned by that service's own login role
-- (DESIGN §2: no service reads another's tables). Run once by the postgres
-- image's entrypoint, as the superuser, when the data volume is empty; a change
-- here needs `docker compose down -v` (or the same statements by hand).
--
-- Development passwords (see deploy/README.md): change them, and the matching
-- *_DATABASE_URL values in docker-compose.yml, for any shared installation.

CREATE ROLE agenda   LOGIN PASSWORD 'agenda-db-dev';
CREATE ROLE newsroom LOGIN PASSWORD 'newsroom-db-dev';
CREATE ROLE scoring  LOGIN PASSWORD 'scoring-db-dev';

-- The owner may create tables in the database's public schema (PostgreSQL 15
-- gives it to pg_database_owner), which is all the migrations need.
CREATE DATABASE simalik_agenda   OWNER agenda;
CREATE DATABASE simalik_newsroom OWNER newsroom;
CREATE DATABASE simalik_scoring  OWNER scoring;

-- PUBLIC may connect to every new database by default: take that away, so one
-- service's credentials do not open another's database.
REVOKE ALL ON DATABASE simalik_agenda   FROM PUBLIC;
REVOKE ALL ON DATABASE simalik_newsroom FROM PUBLIC;
REVOKE ALL ON DATABASE simalik_scoring  FROM PUBLIC;
