-- analyst.clause_history(clause)
-- Grain: one row per version of the clause's document in which the clause
-- appears, with what happened to it on entering that version (added,
-- modified, moved, or NULL when unchanged), and one row per version that
-- removed it (change = 'removed', text NULL, diff_text the removed text), so
-- a clause removed and later added back reads removed, then added. Oldest
-- first; `categories` lists the labels of the clause's text in that version
-- (clause_labels). Times: TIMESTAMPTZ, UTC.
CREATE OR REPLACE MACRO analyst.clause_history(clause) AS TABLE
SELECT *
FROM (
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
        ch.diff_text,
        (
            SELECT list(l.category ORDER BY l.category)
            FROM main.clause_labels l
            WHERE l.text_sha256 = cv.text_sha256
        ) AS categories
    FROM analyst.clause_versions cv
    LEFT JOIN main.changes ch ON ch.clause_id = cv.clause_id AND ch.to_version_id = cv.version_id
    WHERE cv.clause_id = clause
    UNION ALL
    SELECT
        ch.clause_id,
        ch.document_id,
        ch.to_version_id,
        v.valid_from,
        v.valid_to,
        NULL,
        NULL,
        NULL,
        ch.kind,
        ch.diff_text,
        NULL
    FROM main.changes ch
    JOIN main.versions v ON v.version_id = ch.to_version_id
    WHERE ch.clause_id = clause AND ch.kind = 'removed'
)
ORDER BY valid_from;

-- analyst.search_clauses(pattern): clause versions whose text matches a
-- case-insensitive regular expression (built-in; no extension needed).
-- Grain: one row per matching clause per version.
CREATE OR REPLACE MACRO analyst.search_clauses(pattern) AS TABLE
SELECT *
FROM analyst.clause_versions
WHERE regexp_matches(text, pattern, 'i')
ORDER BY document_id, valid_from, ordinal;
