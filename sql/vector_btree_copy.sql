-- B-tree ordering and indexes; COPY text and binary round trips.

CREATE TABLE bt (id int, v vector);
INSERT INTO bt VALUES (1, '[1,2,3]'), (2, '[1,2]'), (3, '[0,9]'), (4, '[1,2,3,0]'), (5, NULL),
                      (6, '[-1,100]'), (7, '[1,2,-3]'), (8, '[1,2,3]'), (9, '[-0,0]'), (10, '[0,0]');
SELECT id, v FROM bt ORDER BY v, id;
SELECT id, v FROM bt ORDER BY v DESC NULLS LAST, id;
-- equal vectors group together ([-0,0] = [0,0])
SELECT count(DISTINCT v) AS distinct_values FROM bt;
SELECT string_agg(v::text, ' ' ORDER BY id) AS members, count(*) FROM bt GROUP BY v ORDER BY v;
CREATE INDEX bt_v ON bt (v);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM bt WHERE v = '[1,2,3]';
SELECT id FROM bt WHERE v = '[1,2,3]' ORDER BY id;
SELECT id FROM bt WHERE v > '[1,2]' ORDER BY v, id;
SELECT id FROM bt WHERE v < '[0,9]' ORDER BY v, id;
EXPLAIN (COSTS OFF) SELECT v FROM bt ORDER BY v;
SELECT v FROM bt ORDER BY v;
RESET enable_seqscan;
CREATE TABLE bu (v vector PRIMARY KEY);
INSERT INTO bu VALUES ('[1,2]'), ('[1,2,0]'), ('[0]');
INSERT INTO bu VALUES ('[1,2]');
INSERT INTO bu VALUES ('[-0]');
DROP TABLE bu;
SELECT opcname, opcdefault FROM pg_opclass WHERE opcintype = 'vector'::regtype AND opcmethod = (SELECT oid FROM pg_am WHERE amname = 'btree');
-- merge and hash-free joins work through the btree opclass
SET enable_hashjoin = off;
SET enable_nestloop = off;
SELECT a.id, b.id FROM bt a JOIN bt b ON a.v = b.v WHERE a.id < b.id ORDER BY 1, 2;
RESET enable_hashjoin;
RESET enable_nestloop;
DROP TABLE bt;

-- COPY text round trip (server-side files are named after the port, so that
-- clusters running this suite at the same time do not share them)
\set txtfile '/tmp/vecgo_regress_' :PORT '.txt'
\set binfile '/tmp/vecgo_regress_' :PORT '.bin'
\set bigtxtfile '/tmp/vecgo_regress_large_' :PORT '.txt'
\set bigbinfile '/tmp/vecgo_regress_large_' :PORT '.bin'
CREATE TABLE ct (id int, v vector(3));
COPY ct FROM STDIN;
1	[1,2,3]
2	[ 0.1 , -2.5e-7 ,3e38 ]
3	\N
4	[1.17549435e-38,-0,7]
\.
COPY ct TO STDOUT;
COPY ct FROM STDIN;
5	[1,2]
\.
COPY ct FROM STDIN;
6	[1,NaN,3]
\.
COPY ct FROM STDIN;
7	[1,2,3
\.
CREATE TABLE ct2 (LIKE ct);
COPY ct TO :'txtfile';
COPY ct2 FROM :'txtfile';
SELECT count(*) AS text_round_trip FROM ct JOIN ct2 USING (id) WHERE ct.v = ct2.v OR (ct.v IS NULL AND ct2.v IS NULL);

-- COPY binary round trip (vector_send / vector_recv)
CREATE TABLE cb (LIKE ct);
COPY ct TO :'binfile' (FORMAT binary);
COPY cb FROM :'binfile' (FORMAT binary);
SELECT * FROM cb ORDER BY id;
SELECT count(*) AS binary_round_trip FROM ct JOIN cb USING (id)
WHERE vector_send(ct.v) = vector_send(cb.v) OR (ct.v IS NULL AND cb.v IS NULL);
-- binary input is checked against the column's typmod
CREATE TABLE cb2 (id int, v vector(2));
COPY cb2 FROM :'binfile' (FORMAT binary);
-- a large vector survives both formats (stored out of line: STORAGE external)
CREATE TABLE cl (v vector);
INSERT INTO cl SELECT array_agg(i * 0.5)::vector FROM generate_series(1, 16000) AS i;
SELECT attstorage FROM pg_attribute WHERE attrelid = 'cl'::regclass AND attname = 'v';
SELECT typstorage, typlen, typalign FROM pg_type WHERE typname = 'vector';
COPY cl TO :'bigbinfile' (FORMAT binary);
COPY cl FROM :'bigbinfile' (FORMAT binary);
COPY cl TO :'bigtxtfile';
COPY cl FROM :'bigtxtfile';
SELECT count(*), count(DISTINCT v), min(vector_dims(v)), min(vector_norm(v)) = max(vector_norm(v)) AS all_equal FROM cl;
DROP TABLE ct, ct2, cb, cb2, cl;
