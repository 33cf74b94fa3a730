-- halfvec text and binary input and output: accepted forms, rounding to
-- half precision, round trips, every input error.

-- accepted forms
SELECT '[1,2,3]'::halfvec;
SELECT '  [ -1 ,	2.5 ,3 ]  '::halfvec AS whitespace;
SELECT (E'\n[\t-1.5,\r+2e3\f,' || chr(11) || E'3.25]\n')::halfvec AS all_whitespace_kinds;
SELECT '[1.,.5,-0,0x10,1e-3]'::halfvec AS number_forms;

-- rounding: each element is read as a float, then rounded to the nearest half
SELECT '[0.1,0.2,0.3,1.23456,3.14159]'::halfvec AS nearest_half;
SELECT '[2049,2051,4097,-2049]'::halfvec AS ties_to_even;
SELECT '[1.00048828125,1.00146484375]'::halfvec AS ties_below_one_ulp;
SELECT '[65504,-65504,65519,-65519.99]'::halfvec AS largest_finite;
SELECT '[6.1035156e-5,5.9604645e-8,-5.9604645e-8]'::halfvec AS smallest_normal_and_subnormal;
SELECT '[2.9802322e-8,2.9802326e-8,1e-8,-1e-8,1e-46]'::halfvec AS underflow_to_zero;
SELECT '[-0,0]'::halfvec AS signed_zeros;

-- output is each half as a float, shortest round-trip form: text round trips
SELECT v::text::halfvec = v AS round_trip, v::text::halfvec::text = v::text AS same_text, v
FROM (VALUES ('[0.1,0.2,0.3]'::halfvec), ('[65504,6.1035156e-5,5.9604645e-8]'),
             ('[3.1415927,2.7182817,-1.4142135]')) AS t(v);
SELECT count(*) AS round_trips
FROM generate_series(-1000, 1000) AS i,
     LATERAL (SELECT ('[' || i * 0.0137 || ',' || 1.0 / nullif(i, 0) || ',' || i * 65.5 || ']')::halfvec AS v) AS s
WHERE v::text::halfvec = v AND halfvec_send(v::text::halfvec) = halfvec_send(v);

-- 16000 dimensions is the limit
SELECT vector_dims(('[' || array_to_string(array_fill(1, ARRAY[16000]), ',') || ']')::halfvec);
SELECT vector_dims(('[' || array_to_string(array_fill(1, ARRAY[16001]), ',') || ']')::halfvec);

-- errors: malformed input
\set VERBOSITY default
SELECT ''::halfvec;
SELECT '   '::halfvec;
SELECT '1,2,3'::halfvec;
SELECT '(1,2,3)'::halfvec;
SELECT '['::halfvec;
SELECT '[  '::halfvec;
SELECT '[1'::halfvec;
SELECT '[1,'::halfvec;
SELECT '[1,]'::halfvec;
SELECT '[,1]'::halfvec;
SELECT '[,]'::halfvec;
SELECT '[1,,2]'::halfvec;
SELECT '[1, ,2]'::halfvec;
SELECT '[1 2]'::halfvec;
SELECT '[one]'::halfvec;
SELECT '[1x]'::halfvec;
SELECT '[1]]'::halfvec;
SELECT '[1] x'::halfvec;
SELECT '[1,2,3]9'::halfvec;
SELECT '[[1]]'::halfvec;
-- errors: empty
SELECT '[]'::halfvec;
SELECT '[   ]'::halfvec;
-- errors: non-finite and out of range (beyond a half, or beyond a float)
SELECT '[NaN]'::halfvec;
SELECT '[1,nan]'::halfvec;
SELECT '[inf]'::halfvec;
SELECT '[-Infinity,1]'::halfvec;
SELECT '[65520]'::halfvec;
SELECT '[1,-65520]'::halfvec;
SELECT '[1,1e5,2]'::halfvec;
SELECT '[1e39]'::halfvec;
SELECT '[1,-3.5e38]'::halfvec;

-- SQLSTATEs of the errors above
CREATE FUNCTION pg_temp.sqlstate_of(lit text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  PERFORM lit::halfvec;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE;
END $$;
SELECT left(lit, 12) AS input, pg_temp.sqlstate_of(lit)
FROM unnest(ARRAY['[1,2]', '', '[1,', '[1] x', '[]', '[NaN]', '[inf]', '[65520]', '[1e39]',
                  '[' || array_to_string(array_fill(0, ARRAY[16001]), ',') || ']']) AS lit;

-- halfvec arrays
SELECT '{"[1,2]","[3,4.5]"}'::halfvec[];
SELECT ('{"[1,2]",NULL}'::halfvec[])[2] IS NULL AS null_element;
SELECT unnest('{"[1,2,3]","[4,5,6]"}'::halfvec[]);

-- binary output: int16 dim, int16 unused, then each half's bits, big-endian
SELECT halfvec_send('[1,2]');
SELECT halfvec_send('[-0.5,0,-0,65504,5.9604645e-8,6.1035156e-5]');
-- binary input (halfvec_recv) through COPY BINARY: a round trip, typmod
-- checks, and payloads built by hand
\set binfile '/tmp/vecgo_regress_half_' :PORT '.bin'
\set txtfile '/tmp/vecgo_regress_half_' :PORT '.txt'
CREATE TABLE hb (id int, v halfvec(3));
INSERT INTO hb VALUES (1, '[1,2,3]'), (2, '[0.1,-2.5e-7,65504]'), (3, NULL), (4, '[6.1e-5,-0,7]');
COPY hb TO :'binfile' (FORMAT binary);
CREATE TABLE hb2 (LIKE hb);
COPY hb2 FROM :'binfile' (FORMAT binary);
SELECT * FROM hb2 ORDER BY id;
SELECT count(*) AS binary_round_trip FROM hb JOIN hb2 USING (id)
WHERE halfvec_send(hb.v) = halfvec_send(hb2.v) OR (hb.v IS NULL AND hb2.v IS NULL);
CREATE TABLE hb3 (id int, v halfvec(2));
COPY hb3 FROM :'binfile' (FORMAT binary);
-- text COPY round trip
COPY hb TO :'txtfile';
TRUNCATE hb2;
COPY hb2 FROM :'txtfile';
SELECT count(*) AS text_round_trip FROM hb JOIN hb2 USING (id)
WHERE halfvec_send(hb.v) = halfvec_send(hb2.v) OR (hb.v IS NULL AND hb2.v IS NULL);
COPY hb FROM STDIN;
5	[1,2]
\.
COPY hb FROM STDIN;
6	[1,NaN,3]
\.
COPY hb FROM STDIN;
7	[1,70000,3]
\.
-- hand-built binary files: a header, one row of one column, a trailer
CREATE FUNCTION pg_temp.copy_file(payload bytea) RETURNS bytea LANGUAGE sql AS $$
  SELECT '\x5047434f50590aff0d0a00'::bytea || '\x0000000000000000'::bytea || '\x0001'::bytea
         || int4send(length(payload)) || payload || '\xffff'::bytea
$$;
CREATE TABLE hr (v halfvec);
CREATE FUNCTION pg_temp.recv(payload bytea, path text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  lo oid := lo_from_bytea(0, pg_temp.copy_file(payload));
BEGIN
  PERFORM lo_export(lo, path);
  PERFORM lo_unlink(lo);
  TRUNCATE hr;
  EXECUTE format('COPY hr FROM %L (FORMAT binary)', path);
  RETURN (SELECT v::text FROM hr);
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT pg_temp.recv('\x000200003c00c000', :'binfile') AS one_minus_two;
SELECT pg_temp.recv('\x0001000003ff', :'binfile') AS largest_subnormal;
SELECT pg_temp.recv('\x000100007c00', :'binfile') AS infinity;
SELECT pg_temp.recv('\x00010000fe00', :'binfile') AS nan;
SELECT pg_temp.recv('\x000100017c00', :'binfile') AS unused_set;
SELECT pg_temp.recv('\x00000000', :'binfile') AS no_dimensions;
SELECT pg_temp.recv('\x3e810000', :'binfile') AS too_many_dimensions;
SELECT pg_temp.recv('\x000200003c00', :'binfile') AS short_payload;
-- a large halfvec survives both formats (stored out of line: STORAGE external)
CREATE TABLE hl (v halfvec);
INSERT INTO hl SELECT array_agg(i * 0.5)::halfvec FROM generate_series(1, 16000) AS i;
SELECT attstorage FROM pg_attribute WHERE attrelid = 'hl'::regclass AND attname = 'v';
SELECT typstorage, typlen, typalign FROM pg_type WHERE typname = 'halfvec';
COPY hl TO :'binfile' (FORMAT binary);
COPY hl FROM :'binfile' (FORMAT binary);
COPY hl TO :'txtfile';
COPY hl FROM :'txtfile';
SELECT count(*), count(DISTINCT v), min(vector_dims(v)), min(l2_norm(v)) = max(l2_norm(v)) AS all_equal FROM hl;
DROP TABLE hb, hb2, hb3, hr, hl;
