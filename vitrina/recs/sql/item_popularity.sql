-- Item popularity with exponential time decay: every interaction other than an
-- impression counts 2^(-age / half-life), its age taken at ${as_of}.
-- 0.6931471805599453 is ln 2. Portable SQL: DuckDB and Spark SQL run it as written.
SELECT
    item_id,
    SUM(EXP(-0.6931471805599453 * (${as_of} - ts) / ${half_life_seconds})) AS popularity,
    COUNT(*) AS interactions
FROM events
WHERE item_id IS NOT NULL
  AND event <> 'impression'
  AND ts <= ${as_of}
GROUP BY item_id
