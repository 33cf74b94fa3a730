-- Casts between halfvec and sparsevec, their typmods, limits and errors.

-- halfvec to sparsevec (implicit): the non-zero elements, widened exactly
SELECT '[0,1.5,0,-2.25,0]'::halfvec::sparsevec, '[0,1.5,0,-2.25,0]'::halfvec::sparsevec(5);
SELECT '[0,0,0]'::halfvec::sparsevec AS all_zero, '[-0,1,-0]'::halfvec::sparsevec AS minus_zero_dropped;
SELECT '[0.1,6e-8,65504,-65504,6.1e-5]'::halfvec::sparsevec AS exact;
SELECT '[0,1.5,0,-2.25,0]'::halfvec::sparsevec(4);
SELECT halfvec_to_sparsevec('[1,0,2]', -1, false), halfvec_to_sparsevec('[1,0,2]', 3, true);
SELECT halfvec_to_sparsevec('[1,0,2]', 2, true);
SELECT l2_norm(array_fill(1, ARRAY[16000])::halfvec::sparsevec) AS nnz_16000;
SELECT (NULL::halfvec)::sparsevec IS NULL AS null_in_null_out;
-- the cast applies implicitly: with a sparsevec, a halfvec operand is cast
SELECT '[3,0,4]'::halfvec <-> '{1:3}/3'::sparsevec AS halfvec_operand;
SELECT '{1:3}/3'::sparsevec <=> '[3,0,4]'::halfvec AS halfvec_operand;

-- sparsevec to halfvec (assignment): the dense form, each value rounded to a half
SELECT '{2:1.5,4:-3.5}/5'::sparsevec::halfvec, '{2:1.5,4:-3.5}/5'::sparsevec::halfvec(5), '{}/3'::sparsevec::halfvec;
SELECT '{1:0.1,2:1e-8,3:-1e-8,4:3e-8,5:65519,6:-2049}/6'::sparsevec::halfvec AS rounded;
SELECT '{2:1.5,4:-3.5}/5'::sparsevec::halfvec(4);
SELECT sparsevec_to_halfvec('{1:1}/2', -1, false), sparsevec_to_halfvec('{1:1}/2', 2, true);
SELECT sparsevec_to_halfvec('{1:1}/2', 3, true);
SELECT (NULL::sparsevec)::halfvec IS NULL AS null_in_null_out;
-- 16000 dimensions at most
SELECT vector_dims('{16000:1}/16000'::sparsevec::halfvec), l2_norm('{1:3,16000:4}/16000'::sparsevec::halfvec);
SELECT '{}/16001'::sparsevec::halfvec;
SELECT '{1:1}/1000000000'::sparsevec::halfvec;
-- the dimension limit comes before the typmod and the values
SELECT '{}/16001'::sparsevec::halfvec(3);
SELECT '{1:1e10}/16001'::sparsevec::halfvec;
-- values beyond the half range
SELECT '{1:65504}/2'::sparsevec::halfvec AS largest, '{2:-65519.996}/2'::sparsevec::halfvec AS rounds_down;
SELECT '{1:65520}/2'::sparsevec::halfvec;
SELECT '{2:-1e10}/2'::sparsevec::halfvec;
SELECT '{1:1,2:3.4e38,3:-1e5}/3'::sparsevec::halfvec;
-- ... and the typmod before the values
SELECT '{1:1e10}/2'::sparsevec::halfvec(3);
-- not implicit: a sparsevec operand does not become a halfvec
SELECT '[1,2]'::halfvec + '{1:1}/2'::sparsevec;

-- assignments to typed columns
CREATE TABLE th (h halfvec(3));
INSERT INTO th VALUES ('{1:1,3:3}/3'::sparsevec), ('{2:0.1}/3'::sparsevec);
INSERT INTO th VALUES ('{1:1}/2'::sparsevec);
INSERT INTO th VALUES ('{1:70000}/3'::sparsevec);
SELECT * FROM th;
CREATE TABLE ts (s sparsevec(3));
INSERT INTO ts SELECT h FROM th;
INSERT INTO ts VALUES ('[1,0]'::halfvec);
SELECT * FROM ts;
UPDATE th SET h = '{2:2}/3'::sparsevec WHERE h = '[0,0.099975586,0]';
SELECT count(*) FROM th JOIN ts ON th.h::sparsevec = ts.s;
DROP TABLE th, ts;

-- round trips: a halfvec through sparsevec, and a sparsevec of half values
SELECT count(*) AS halfvec_round_trips
FROM generate_series(0, 199) AS i,
     LATERAL (SELECT ('[' || (i % 3) * 0.0137 || ',0,' || 1.0 / nullif(i, 0) || ',' || -i * 65.5 || ',0]')::halfvec AS h) AS s
WHERE h::sparsevec::halfvec = h AND halfvec_send(h::sparsevec::halfvec) = halfvec_send(h);
-- ... except that -0 comes back as +0
SELECT h::sparsevec::halfvec AS h, halfvec_send(h::sparsevec::halfvec) AS bytes
FROM (VALUES ('[-0,1,-0]'::halfvec)) AS t(h);
SELECT s::halfvec::sparsevec = s AS sparse_round_trip, s::halfvec::sparsevec
FROM (VALUES ('{1:0.099975586,7:-65504,8:5.9604645e-08}/9'::sparsevec)) AS t(s);
-- a value that narrows to zero is dropped on the way back
SELECT '{1:1e-9,2:1}/2'::sparsevec::halfvec::sparsevec AS underflow_dropped;
-- through vector: the same answers
SELECT h::sparsevec = h::vector::sparsevec AS via_vector, s::halfvec = s::vector::halfvec AS via_vector
FROM (VALUES ('[0,0.333,-7,0]'::halfvec, '{2:0.333,3:-7}/4'::sparsevec)) AS t(h, s);

-- SQLSTATEs of the errors
CREATE FUNCTION pg_temp.sqlstate_of(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE q;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE;
END $$;
SELECT q, pg_temp.sqlstate_of('SELECT ' || q)
FROM unnest(ARRAY['''[1,0]''::halfvec::sparsevec(3)', '''{1:1}/2''::sparsevec::halfvec(3)',
                  '''{}/16001''::sparsevec::halfvec', '''{1:65520}/2''::sparsevec::halfvec',
                  '''{1:1e10}/2''::sparsevec::halfvec(3)', '''{1:1}/2''::sparsevec::halfvec']) AS q;

-- the casts and their contexts (e = explicit, a = assignment, i = implicit)
SELECT castsource::regtype, casttarget::regtype, castfunc::regprocedure, castcontext, castmethod
FROM pg_cast
WHERE castsource IN ('halfvec'::regtype, 'sparsevec'::regtype) AND casttarget IN ('halfvec'::regtype, 'sparsevec'::regtype)
ORDER BY castsource::regtype::text, casttarget::regtype::text;
