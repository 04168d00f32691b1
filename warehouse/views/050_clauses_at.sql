-- analyst.clauses_at(doc_id, as_of)
-- Grain: one row per clause of one document in force at `as_of` (TIMESTAMPTZ,
-- UTC), in document order. Empty when the document had no version yet.
-- analyst.all_clauses_at(as_of): the same across every document.
CREATE OR REPLACE MACRO analyst.clauses_at(doc_id, as_of) AS TABLE
SELECT *
FROM analyst.clause_versions
WHERE document_id = doc_id
  AND valid_from <= as_of
  AND (valid_to IS NULL OR valid_to > as_of)
ORDER BY ordinal;

CREATE OR REPLACE MACRO analyst.all_clauses_at(as_of) AS TABLE
SELECT *
FROM analyst.clause_versions
WHERE valid_from <= as_of
  AND (valid_to IS NULL OR valid_to > as_of)
ORDER BY document_id, ordinal;
