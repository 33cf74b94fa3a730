-- sparsevec text and binary input and output: accepted forms, round trips,
-- limits, every input error.

-- accepted forms
SELECT '{1:1.5,3:3.5}/5'::sparsevec;
SELECT '{1:-2,3:-4}/5'::sparsevec AS negative;
SELECT '{1:2.,3:4.}/5'::sparsevec AS trailing_dot;
SELECT ' { 1 : 1.5 ,  3  :  3.5  } / 5 '::sparsevec AS spaces;
SELECT (E'\n{\t1\r:\f2,' || chr(11) || E'2:3}\n/\t2\n')::sparsevec AS all_whitespace_kinds;
SELECT '{+1:.5,2:-0.25e1,3:0x10,4:1e-3}/4'::sparsevec AS number_forms;
SELECT '{1:1.23456}/1'::sparsevec, '{}/1'::sparsevec AS empty, '{ }/1'::sparsevec AS empty_spaced;
SELECT '{1:1e-45}/1'::sparsevec AS denormal, '{1:3.4028235e38}/1'::sparsevec AS max_float;
SELECT '{1:1.5e38,2:-1.5e38}/2'::sparsevec, '{1:1.5e-38,2:-1.5e-38}/2'::sparsevec;
SELECT '{1:1234567,2:0.33333334,3:123456789}/3'::sparsevec AS shortest_output;
-- zero values are dropped, before any check of their index
SELECT '{1:0,2:1,3:0}/3'::sparsevec, '{1:-0,2:0.0}/2'::sparsevec AS all_zero;
SELECT '{0:0,7:0}/1'::sparsevec AS zero_at_bad_index, '{1:1,1:0}/1'::sparsevec AS zero_duplicate;
-- any order on input, sorted on output
SELECT '{2:1,1:1}/2'::sparsevec, '{5:5,1:1,3:3,4:4,2:2}/5'::sparsevec;
-- the canonical example
SELECT '{1:1,3:2,5:3}/5'::sparsevec <-> '{1:3,3:2,5:1}/5';

-- round trips: every value reparses to itself
SELECT v::text::sparsevec = v AS round_trip, v::text
FROM (VALUES ('{1:0.1,2:0.2,3:0.3}/3'::sparsevec), ('{1:1.17549435e-38,4:3.4028235e38,9:-2.5e-10}/10'),
             ('{2:3.1415927,3:2.7182817,1000000000:1.4142135}/1000000000')) AS t(v);
SELECT count(*) AS round_trips
FROM generate_series(1, 500) AS i,
     LATERAL (SELECT ('{' || i || ':' || (i * 0.0137)::float4 || ',' || (i + 1) || ':' || (-1.0 / i)::float4 || ','
                      || (i * 7) || ':' || (i * 1e30)::float4 || '}/' || (i * 7))::sparsevec AS v) AS s
WHERE v::text::sparsevec = v AND sparsevec_send(v::text::sparsevec) = sparsevec_send(v);

-- limits: 1,000,000,000 dimensions, 16,000 non-zero elements
SELECT '{}/1000000000'::sparsevec, '{1000000000:1}/1000000000'::sparsevec;
SELECT '{}/1000000001'::sparsevec;
SELECT length((SELECT ('{' || string_agg(i || ':1', ',') || '}/16000')::sparsevec::text
               FROM generate_series(1, 16000) AS i)) AS nnz_16000;
SELECT ('{' || string_agg(i || ':1', ',') || '}/16001')::sparsevec FROM generate_series(1, 16001) AS i;
-- the element count is bounded by the commas, zeros included
SELECT ('{' || string_agg(i || ':0', ',') || '}/16001')::sparsevec FROM generate_series(1, 16001) AS i;
SELECT ('{' || string_agg(i || ':0', ',') || '}/16000')::sparsevec FROM generate_series(1, 16000) AS i;

-- errors: malformed input
\set VERBOSITY default
SELECT ''::sparsevec;
SELECT '   '::sparsevec;
SELECT '[1,2]'::sparsevec;
SELECT '{'::sparsevec;
SELECT '{ '::sparsevec;
SELECT '{:'::sparsevec;
SELECT '{,'::sparsevec;
SELECT '{}'::sparsevec;
SELECT '{} 5'::sparsevec;
SELECT '{}/'::sparsevec;
SELECT '{}/ '::sparsevec;
SELECT '{}/1a'::sparsevec;
SELECT '{}/1 /2'::sparsevec;
SELECT '{}/1.5'::sparsevec;
SELECT '{}/x'::sparsevec;
SELECT '{:}/1'::sparsevec;
SELECT '{,}/1'::sparsevec;
SELECT '{1,}/1'::sparsevec;
SELECT '{:1}/1'::sparsevec;
SELECT '{1:}/1'::sparsevec;
SELECT '{1a:1}/1'::sparsevec;
SELECT '{1.5:1}/2'::sparsevec;
SELECT '{1:1a}/1'::sparsevec;
SELECT '{1:hello,2:1}/2'::sparsevec;
SELECT '{1:1,}/1'::sparsevec;
SELECT '{1:1 2:1}/2'::sparsevec;
SELECT '{1:1;2:1}/2'::sparsevec;
SELECT '{1:1}}/1'::sparsevec;
SELECT '{{1:1}/1'::sparsevec;
SELECT '{1:1/1'::sparsevec;
-- errors: non-finite and out of range values
SELECT '{1:NaN,2:1}/2'::sparsevec;
SELECT '{1:nan}/1'::sparsevec;
SELECT '{1:Infinity,2:1}/2'::sparsevec;
SELECT '{1:-inf}/1'::sparsevec;
SELECT '{1:4e38,2:1}/2'::sparsevec;
SELECT '{1:-4e38,2:1}/2'::sparsevec;
SELECT '{1:1e-46,2:1}/2'::sparsevec;
SELECT '{1:-1e-46,2:1}/2'::sparsevec;
-- errors: indices
SELECT '{1:1,1:1}/2'::sparsevec;
SELECT '{1:1,2:1,1:1}/2'::sparsevec;
SELECT '{0:1}/1'::sparsevec;
SELECT '{2:1}/1'::sparsevec;
SELECT '{-1:1}/1'::sparsevec;
SELECT '{2147483647:1}/1'::sparsevec;
SELECT '{2147483648:1}/1'::sparsevec;
SELECT '{-2147483648:1}/1'::sparsevec;
SELECT '{-2147483649:1}/1'::sparsevec;
SELECT '{99999999999999999999999:1}/1'::sparsevec;
-- checked in sorted order: whichever problem comes at the smaller index
SELECT '{1:1,1:1,0:1}/2'::sparsevec;
SELECT '{1:1,1:1,5:1}/2'::sparsevec;
-- errors: dimensions
SELECT '{}/0'::sparsevec;
SELECT '{}/-1'::sparsevec;
SELECT '{}/2147483648'::sparsevec;
SELECT '{}/-2147483649'::sparsevec;
SELECT '{}/9223372036854775808'::sparsevec;
SELECT '{}/-9223372036854775809'::sparsevec;
-- precedence: syntax, then dimensions, then indices
SELECT '{0:1}/0'::sparsevec;
SELECT '{0:1}/1 x'::sparsevec;
SELECT '{1:NaN}/0'::sparsevec;

-- SQLSTATEs of the errors above
CREATE FUNCTION pg_temp.sqlstate_of(lit text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  PERFORM lit::sparsevec;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE;
END $$;
SELECT left(lit, 16) AS input, pg_temp.sqlstate_of(lit)
FROM unnest(ARRAY['{1:2}/2', '', '{', '{}', '{}/1a', '{1:x}/1', '{1:NaN}/1', '{1:inf}/1', '{1:4e38}/1',
                  '{1:1e-46}/1', '{1:1,1:2}/2', '{3:1}/2', '{}/0', '{}/1000000001',
                  '{' || repeat('1:1,', 16000) || '1:1}/1']) AS lit;

-- sparsevec(n)
SELECT '{}/3'::sparsevec(3);
SELECT '{1:1}/1'::sparsevec(1000000000);
SELECT '{}/3'::sparsevec(2);
SELECT '{}/3'::sparsevec(3, 2);
SELECT '{}/3'::sparsevec('a');
SELECT '{}/3'::sparsevec(0);
SELECT '{}/3'::sparsevec(-1);
SELECT '{}/3'::sparsevec(1000000001);
CREATE TABLE bad (v sparsevec(0));
SELECT '{1:1}/3'::sparsevec::sparsevec(3), CAST('{1:1}/3'::sparsevec AS sparsevec(3));
SELECT '{1:1}/3'::sparsevec::sparsevec(4);
CREATE TABLE tm (v sparsevec(3));
INSERT INTO tm VALUES ('{1:1,3:3}/3'), (NULL);
INSERT INTO tm VALUES ('{1:1}/2');
INSERT INTO tm SELECT '{1:1}/4'::sparsevec;
UPDATE tm SET v = '{}/5';
SELECT v FROM tm ORDER BY v NULLS FIRST;
SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'tm'::regclass AND attname = 'v';
DROP TABLE tm;

-- sparsevec arrays
SELECT '{"{1:1}/2","{2:3.5}/2"}'::sparsevec[];
SELECT ('{"{1:1}/2",NULL}'::sparsevec[])[2] IS NULL AS null_element;

-- binary output: int32 dim, int32 nnz, int32 unused, int32 indices (0-based), float4 values
SELECT sparsevec_send('{1:1.5,3:-2}/5');
SELECT sparsevec_send('{}/1000000000');
SELECT sparsevec_send('{3:1e-45}/3');

-- binary input, through COPY (FORMAT binary). A bytea column's binary form is
-- its raw bytes, so bytes written from a bytea column read back as exactly
-- that sparsevec_recv payload. (Server-side files are named after the port,
-- so that clusters running this suite at the same time do not share them.)
\set binfile '/tmp/vecgo_regress_sparse_' :PORT '.bin'
CREATE TABLE ct (id int, v sparsevec);
INSERT INTO ct VALUES (1, '{1:1.5,3:-2}/5'), (2, '{}/1'), (3, NULL), (4, '{1:1e-45,1000000000:3.4028235e38}/1000000000');
CREATE TABLE cb (LIKE ct);
COPY ct TO :'binfile' (FORMAT binary);
COPY cb FROM :'binfile' (FORMAT binary);
SELECT * FROM cb ORDER BY id;
SELECT count(*) AS binary_round_trip FROM ct JOIN cb USING (id)
WHERE sparsevec_send(ct.v) = sparsevec_send(cb.v) OR (ct.v IS NULL AND cb.v IS NULL);
-- binary input is checked against the column's typmod
CREATE TABLE cb5 (id int, v sparsevec(5));
COPY cb5 FROM :'binfile' (FORMAT binary);
DROP TABLE cb5;
-- COPY text round trip
COPY ct TO STDOUT;
COPY cb FROM STDIN;
5	{2:2, 1:1}/2
\.
COPY cb FROM STDIN;
6	{1:1,1:1}/2
\.
SELECT * FROM cb WHERE id = 5;

-- malformed binary input: each payload goes through sparsevec_recv
CREATE TABLE raw (b bytea);
CREATE TABLE rcv (v sparsevec);
CREATE FUNCTION pg_temp.recv(payload bytea, path text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  result text;
BEGIN
  TRUNCATE raw, rcv;
  INSERT INTO raw VALUES (payload);
  EXECUTE format('COPY raw TO %L (FORMAT binary)', path);
  EXECUTE format('COPY rcv FROM %L (FORMAT binary)', path);
  SELECT v::text INTO result FROM rcv;
  RETURN result;
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ' ' || SQLERRM;
END $$;
SELECT payload, pg_temp.recv(decode(payload, 'hex'), :'binfile')
FROM unnest(ARRAY[
  '000000050000000200000000000000000000000240000000c0000000',  -- {1:2,3:-2}/5
  '000000010000000000000000',                                  -- {}/1
  '',                                                          -- nothing
  '00000005',                                                  -- no nnz
  '0000000500000001',                                          -- no unused
  '000000050000000100000000',                                  -- no index
  '00000005000000010000000000000000',                          -- no value
  '0000000500000001000000000000000040000000ff',                -- trailing byte
  '000000000000000000000000',                                  -- dim 0
  'ffffffff0000000000000000',                                  -- dim -1
  '3b9aca010000000000000000',                                  -- dim 1000000001
  '00000005ffffffff00000000',                                  -- nnz -1
  '00000005000000060000000000000000000000010000000200000003000000040000000500000006',  -- nnz > dim
  '00004e2000003e8100000000',                                  -- nnz 16001
  '000000050000000000000001',                                  -- unused 1
  '00000005000000010000000000000005' || '3f800000',            -- index 5 of 5
  '000000050000000100000000ffffffff' || '3f800000',            -- index -1
  '0000000500000002000000000000000300000001' || '3f8000003f800000',  -- descending
  '0000000500000002000000000000000100000001' || '3f8000003f800000',  -- duplicate
  '00000005000000010000000000000000' || '00000000',            -- zero value
  '00000005000000010000000000000000' || '80000000',            -- minus zero
  '00000005000000010000000000000000' || '7fc00000',            -- NaN
  '00000005000000010000000000000000' || '7f800000',            -- +Inf
  '00000005000000010000000000000000' || 'ff800000',            -- -Inf
  '00000005000000010000000000000000' || '00000001',            -- denormal: fine
  '00000005000000010000000000000009'                           -- bad index before missing value
]) AS payload;
DROP TABLE ct, cb, raw, rcv;
