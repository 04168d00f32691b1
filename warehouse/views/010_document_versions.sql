-- analyst.document_versions
-- Grain: one row per version of a document.
-- Times: TIMESTAMPTZ, UTC. valid_to is NULL while the version is current.
-- Columns: platform, document id and name, terms type, version id, the
-- version's interval, how many captures saw it, the document's own stated
-- "last updated" date, the full text and its SHA-256, and the ordinal of
-- the version within its document (1 = oldest known).
CREATE OR REPLACE VIEW analyst.document_versions AS
SELECT
    d.platform_id,
    d.document_id,
    d.name AS document_name,
    d.terms_type,
    v.version_id,
    row_number() OVER (PARTITION BY v.document_id ORDER BY v.valid_from, v.version_id) AS version_number,
    v.valid_from,
    v.valid_to,
    v.valid_to IS NULL AS is_current,
    v.last_seen_at,
    v.capture_count,
    v.stated_date,
    v.text_sha256,
    t.chars,
    t.text
FROM versions v
JOIN documents d USING (document_id)
JOIN texts t USING (text_sha256);
