-- Co-visitation: item_a then item_b (another item) later in the same session, at most
-- ${max_gap} events apart, counting only the events named in ${covisit_events}.
-- A session's events are ordered by time, ties broken by item, event and user, so both
-- engines number them alike (rows tied on all of those carry the same item).
WITH numbered AS (
    SELECT
        session_id,
        item_id,
        ROW_NUMBER() OVER (PARTITION BY session_id ORDER BY ts, item_id, event, user_id) AS n
    FROM events
    WHERE session_id IS NOT NULL
      AND item_id IS NOT NULL
      AND event IN (${covisit_events})
      AND ts <= ${as_of}
)
SELECT
    a.item_id AS item_a,
    b.item_id AS item_b,
    COUNT(*) AS pairs
FROM numbered a
JOIN numbered b
  ON a.session_id = b.session_id
 AND b.n > a.n
 AND b.n <= a.n + ${max_gap}
WHERE a.item_id <> b.item_id
GROUP BY a.item_id, b.item_id
