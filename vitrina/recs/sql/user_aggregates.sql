-- User aggregates: events per type, distinct items, first and last activity.
-- COUNT(CASE ...) rather than SUM: both engines answer BIGINT for it.
SELECT
    user_id,
    COUNT(*) AS events,
    COUNT(CASE WHEN event = 'impression' THEN 1 END) AS impressions,
    COUNT(CASE WHEN event = 'click' THEN 1 END) AS clicks,
    COUNT(CASE WHEN event = 'read' THEN 1 END) AS reads,
    COUNT(CASE WHEN event = 'add_to_cart' THEN 1 END) AS add_to_carts,
    COUNT(CASE WHEN event = 'purchase' THEN 1 END) AS purchases,
    COUNT(CASE WHEN event = 'rating' THEN 1 END) AS ratings,
    COUNT(DISTINCT item_id) AS distinct_items,
    MIN(ts) AS first_ts,
    MAX(ts) AS last_ts
FROM events
WHERE ts <= ${as_of}
GROUP BY user_id
