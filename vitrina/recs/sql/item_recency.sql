-- Item recency: the last interaction of any kind with the item and its age at ${as_of}.
SELECT
    item_id,
    MAX(ts) AS last_ts,
    ${as_of} - MAX(ts) AS age_seconds
FROM events
WHERE item_id IS NOT NULL
  AND ts <= ${as_of}
GROUP BY item_id
