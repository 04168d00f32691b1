-- analyst.document_text_at(doc_id, as_of)
-- Grain: at most one row: the version of one document in force at `as_of`
-- (a TIMESTAMPTZ, UTC). No row when the document had no known version yet.
-- Usage: SELECT * FROM analyst.document_text_at('D-00001', TIMESTAMPTZ '2025-09-01 00:00:00+00');
CREATE OR REPLACE MACRO analyst.document_text_at(doc_id, as_of) AS TABLE
SELECT *
FROM analyst.document_versions
WHERE document_id = doc_id
  AND valid_from <= as_of
  AND (valid_to IS NULL OR valid_to > as_of);
