-- vecgo extension install script, assembled from src/sql/*.sql at build time.
\echo Use "CREATE EXTENSION vecgo" to load this file. \quit
