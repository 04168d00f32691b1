-- analyst.document_timeline
-- Grain: one row per version of a document, oldest first, with the number of
-- clauses it has and how many were added, removed, modified or moved since
-- the version before (all zero for a document's first version).
-- Times: TIMESTAMPTZ, UTC.
CREATE OR REPLACE VIEW analyst.document_timeline AS
WITH counts AS (
    SELECT
        to_version_id AS version_id,
        count(*) FILTER (WHERE kind = 'added') AS added,
        count(*) FILTER (WHERE kind = 'removed') AS removed,
        count(*) FILTER (WHERE kind = 'modified') AS modified,
        count(*) FILTER (WHERE kind = 'moved') AS moved
    FROM main.changes
    GROUP BY to_version_id
), sizes AS (
    SELECT version_id, count(*) AS clauses FROM main.clause_versions GROUP BY version_id
)
SELECT
    v.platform_id,
    v.document_id,
    v.document_name,
    v.version_number,
    v.version_id,
    v.valid_from,
    v.valid_to,
    v.is_current,
    v.stated_date,
    v.capture_count,
    coalesce(s.clauses, 0) AS clauses,
    coalesce(c.added, 0) AS added,
    coalesce(c.removed, 0) AS removed,
    coalesce(c.modified, 0) AS modified,
    coalesce(c.moved, 0) AS moved
FROM analyst.document_versions v
LEFT JOIN counts c USING (version_id)
LEFT JOIN sizes s USING (version_id);
