-- vector text input and output: accepted forms, round trips, every input error.

-- accepted forms
SELECT '[1,2,3]'::vector;
SELECT '  [ 1 ,	2 ,3 ]  '::vector AS whitespace;
SELECT (E'\n[\t-1.5,\r+2e3\f,' || chr(11) || E'3.25]\n')::vector AS all_whitespace_kinds;
SELECT '[1.,.5,-0,0x10,1e-3]'::vector AS number_forms;
SELECT '[0.1]'::vector, '[1e-45]'::vector AS denormal, '[3.4028235e38]'::vector AS max_float;
SELECT '[1e-50]'::vector AS underflows_to_zero, '[-1e-50]'::vector AS underflows_to_minus_zero;
SELECT '[1234567,0.33333334,123456789]'::vector AS shortest_output;

-- shortest round-trip output: every float reparses to itself
SELECT v::text::vector = v AS round_trip, v::text
FROM (VALUES ('[0.1,0.2,0.3]'::vector), ('[1.17549435e-38,3.4028235e38,-2.5e-10]'),
             ('[3.1415927,2.7182817,1.4142135]')) AS t(v);
SELECT count(*) AS round_trips
FROM generate_series(1, 500) AS i,
     LATERAL (SELECT ('[' || (i * 0.0137)::float4 || ',' || (-1.0 / i)::float4 || ',' || (i * 1e30)::float4 || ']')::vector AS v) AS s
WHERE v::text::vector = v AND v::text = ('[' || (i * 0.0137)::float4 || ',' || (-1.0 / i)::float4 || ',' || (i * 1e30)::float4 || ']');

-- the canonical example
SELECT '[1,2,3]'::vector <-> '[3,2,1]';

-- 16000 dimensions is the limit
SELECT vector_dims(('[' || array_to_string(array_fill(1, ARRAY[16000]), ',') || ']')::vector);
SELECT vector_dims(('[' || array_to_string(array_fill(1, ARRAY[16001]), ',') || ']')::vector);

-- errors: malformed input
\set VERBOSITY default
SELECT ''::vector;
SELECT '   '::vector;
SELECT '1,2,3'::vector;
SELECT '(1,2,3)'::vector;
SELECT '['::vector;
SELECT '[  '::vector;
SELECT '[1'::vector;
SELECT '[1,'::vector;
SELECT '[1,2'::vector;
SELECT '[1,]'::vector;
SELECT '[,1]'::vector;
SELECT '[1,,2]'::vector;
SELECT '[1 2]'::vector;
SELECT '[1;2]'::vector;
SELECT '[one]'::vector;
SELECT '[1x]'::vector;
SELECT '[1]]'::vector;
SELECT '[1] x'::vector;
SELECT '[[1]]'::vector;
-- errors: empty
SELECT '[]'::vector;
SELECT '[   ]'::vector;
-- errors: non-finite and out of range
SELECT '[NaN]'::vector;
SELECT '[1,nan]'::vector;
SELECT '[inf]'::vector;
SELECT '[-Infinity,1]'::vector;
SELECT '[1e39]'::vector;
SELECT '[1,-3.5e38]'::vector;

-- SQLSTATEs of the errors above
CREATE FUNCTION pg_temp.sqlstate_of(lit text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  PERFORM lit::vector;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE;
END $$;
SELECT left(lit, 12) AS input, pg_temp.sqlstate_of(lit)
FROM unnest(ARRAY['[1,2]', '', '[1,', '[1] x', '[]', '[NaN]', '[inf]', '[1e39]',
                  '[' || array_to_string(array_fill(0, ARRAY[16001]), ',') || ']']) AS lit;

-- vector arrays
SELECT '{"[1,2]","[3,4.5]"}'::vector[];
SELECT ('{"[1,2]",NULL}'::vector[])[2] IS NULL AS null_element;

-- binary output: int16 dim, int16 unused, float4 big-endian
SELECT vector_send('[1,2]');
SELECT vector_send('[-0.5,0,1e-45]');
