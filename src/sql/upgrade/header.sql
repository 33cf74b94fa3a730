-- vecgo upgrade script from @FROM@ to @TO@, assembled at build time from the
-- src/sql files whose objects are new in @TO@.
\echo Use "ALTER EXTENSION vecgo UPDATE TO '@TO@'" to load this file. \quit
