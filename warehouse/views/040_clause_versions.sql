-- analyst.clause_versions
-- Grain: one row per clause per version (a clause's text as it stood in one
-- version of its document). Times: TIMESTAMPTZ, UTC; valid_to is NULL while
-- the version is current. heading_path is outermost first.
CREATE OR REPLACE VIEW analyst.clause_versions AS
SELECT
    d.platform_id,
    d.document_id,
    d.name AS document_name,
    d.terms_type,
    cv.clause_id,
    cv.version_id,
    cv.ordinal,
    cv.heading_path,
    array_to_string(cv.heading_path, ' > ') AS heading,
    cv.label,
    cv.kind,
    cv.text,
    cv.text_sha256,
    cv.valid_from,
    cv.valid_to
FROM main.clause_versions cv
JOIN documents d USING (document_id);
