-- analyst.clause_history(clause)
-- Grain: one row per version of the clause's document in which the clause
-- appears, oldest first, with what happened to it on entering that version
-- (added, modified, moved, or NULL when unchanged). Times: TIMESTAMPTZ, UTC.
CREATE OR REPLACE MACRO analyst.clause_history(clause) AS TABLE
SELECT
    cv.clause_id,
    cv.document_id,
    cv.version_id,
    cv.valid_from,
    cv.valid_to,
    cv.heading,
    cv.label,
    cv.text,
    ch.kind AS change,
    ch.diff_text
FROM analyst.clause_versions cv
LEFT JOIN main.changes ch ON ch.clause_id = cv.clause_id AND ch.to_version_id = cv.version_id
WHERE cv.clause_id = clause
ORDER BY cv.valid_from;

-- analyst.search_clauses(pattern): clause versions whose text matches a
-- case-insensitive regular expression (built-in; no extension needed).
-- Grain: one row per matching clause per version.
CREATE OR REPLACE MACRO analyst.search_clauses(pattern) AS TABLE
SELECT *
FROM analyst.clause_versions
WHERE regexp_matches(text, pattern, 'i')
ORDER BY document_id, valid_from, ordinal;
