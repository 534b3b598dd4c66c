-- Item aggregates: distinct users, impressions, clicks, purchases and the
-- click-through rate (clicks / impressions; null without impressions).
SELECT
    item_id,
    users,
    impressions,
    clicks,
    purchases,
    CASE WHEN impressions > 0 THEN CAST(clicks AS DOUBLE) / impressions END AS ctr
FROM (
    SELECT
        item_id,
        COUNT(DISTINCT user_id) AS users,
        COUNT(CASE WHEN event = 'impression' THEN 1 END) AS impressions,
        COUNT(CASE WHEN event = 'click' THEN 1 END) AS clicks,
        COUNT(CASE WHEN event = 'purchase' THEN 1 END) AS purchases
    FROM events
    WHERE item_id IS NOT NULL
      AND ts <= ${as_of}
    GROUP BY item_id
) counted
