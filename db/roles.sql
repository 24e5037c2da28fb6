-- The two roles of the checkout database, for an administrator to run once, connected to it as a
-- superuser, before the service first starts (docker-compose.yml runs this file when it creates its
-- database). The passwords come from the environment; psql 15 or newer:
--
--   CHECKOUT_OWNER_PASSWORD=... CHECKOUT_SERVICE_PASSWORD=... \
--     psql -v ON_ERROR_STOP=1 -d checkout -f db/roles.sql
--
-- checkout_owner owns the schema and everything the migrations create in it; only the migrations log in
-- as it (spring.flyway.user, spring.flyway.password). checkout_service is the role the service and its
-- operator commands run as (spring.datasource.username, spring.datasource.password): the migrations grant
-- it the functions it calls and nothing else (db/migration/afterMigrate.sql), so it can change no table
-- but through them, and create or drop nothing.
\getenv owner_password CHECKOUT_OWNER_PASSWORD
\getenv service_password CHECKOUT_SERVICE_PASSWORD

create role checkout_owner login password :'owner_password';
create role checkout_service login password :'service_password';

-- The migrations create everything in the public schema, as its owner; nobody else may create anything
-- there (PostgreSQL 15 and newer revoke that from public already, 14 does not).
alter schema public owner to checkout_owner;
revoke create on schema public from public;
