-- analyst.changes
-- Grain: one row per clause-level change between two consecutive versions of
-- a document (added, removed, modified, moved), with the document and the
-- heading of the clause. changed_at is TIMESTAMPTZ, UTC (the first capture
-- of the new version). diff_text marks removed words [-like this-] and
-- added words {+like this+}. is_formatting_only marks a change of Markdown
-- formatting alone (bold, italics, link targets), same words.
CREATE OR REPLACE VIEW analyst.changes AS
SELECT
    d.platform_id,
    d.document_id,
    d.name AS document_name,
    ch.changed_at,
    ch.from_version_id,
    ch.to_version_id,
    ch.clause_id,
    ch.kind,
    array_to_string(coalesce(cv.heading_path, old.heading_path), ' > ') AS heading,
    ch.old_text,
    ch.new_text,
    ch.diff_text,
    ch.similarity,
    ch.is_formatting_only,
    ch.lineage_clause_id
FROM main.changes ch
JOIN documents d USING (document_id)
LEFT JOIN main.clause_versions cv ON cv.clause_id = ch.clause_id AND cv.version_id = ch.to_version_id
LEFT JOIN main.clause_versions old ON old.clause_id = ch.clause_id AND old.version_id = ch.from_version_id;

-- analyst.changes_since(since): the changes above at or after `since`.
CREATE OR REPLACE MACRO analyst.changes_since(since) AS TABLE
SELECT * FROM analyst.changes WHERE changed_at >= since ORDER BY changed_at, document_id;
