-- analyst.clause_labels
-- Grain: one row per label of a clause version (a clause's text in one
-- version, and one provision its text makes: transforms/classify.py). A
-- clause version without a label has no row. Times: TIMESTAMPTZ, UTC.
CREATE OR REPLACE VIEW analyst.clause_labels AS
SELECT
    cv.platform_id,
    cv.document_id,
    cv.document_name,
    cv.terms_type,
    cv.clause_id,
    cv.version_id,
    cv.ordinal,
    cv.heading,
    cv.text,
    cv.valid_from,
    cv.valid_to,
    l.category,
    l.severity,
    l.rule,
    l.matched,
    l.regulations
FROM analyst.clause_versions cv
JOIN main.clause_labels l USING (text_sha256);

-- analyst.categories_at(as_of)
-- Grain: one row per (platform, document, category) whose document, in the
-- version in force at `as_of`, has at least one clause with that label:
-- how many such clauses, and since when the document has carried the
-- category without a break (`since`: the start of the run of consecutive
-- versions with it that holds `as_of`).
CREATE OR REPLACE MACRO analyst.categories_at(as_of) AS TABLE
WITH carried AS (
    -- every (document, version, category), in version order
    SELECT DISTINCT document_id, version_id, valid_from, category
    FROM analyst.clause_labels
),
versions AS (
    SELECT document_id, version_id, valid_from, valid_to,
           row_number() OVER (PARTITION BY document_id ORDER BY valid_from) AS n
    FROM main.versions
),
runs AS (
    -- consecutive versions carrying the category share n - rank
    SELECT c.document_id, c.category, c.version_id, c.valid_from, v.n
           - row_number() OVER (PARTITION BY c.document_id, c.category ORDER BY v.n) AS run
    FROM carried c JOIN versions v USING (document_id, version_id)
),
since AS (
    SELECT document_id, category, run, min(valid_from) AS since
    FROM runs GROUP BY ALL
),
now_ AS (
    SELECT platform_id, document_id, document_name, version_id, category,
           any_value(severity) AS severity, count(DISTINCT clause_id) AS clauses
    FROM analyst.clause_labels
    WHERE valid_from <= as_of AND (valid_to IS NULL OR valid_to > as_of)
    GROUP BY ALL
)
SELECT n.platform_id, n.document_id, n.document_name, n.category, n.severity, n.clauses,
       s.since, n.version_id
FROM now_ n
JOIN runs r ON r.document_id = n.document_id AND r.category = n.category
           AND r.version_id = n.version_id
JOIN since s ON s.document_id = r.document_id AND s.category = r.category AND s.run = r.run
ORDER BY n.category, n.platform_id, n.document_id;

-- analyst.unique_categories_at(as_of)
-- Grain: one row per labelled clause in force at `as_of` whose category
-- exactly one platform carries at that time: the provisions one platform
-- makes and no other tracked platform does.
CREATE OR REPLACE MACRO analyst.unique_categories_at(as_of) AS TABLE
WITH now_ AS (
    SELECT *
    FROM analyst.clause_labels
    WHERE valid_from <= as_of AND (valid_to IS NULL OR valid_to > as_of)
),
single AS (
    SELECT category FROM now_ GROUP BY category HAVING count(DISTINCT platform_id) = 1
)
SELECT platform_id, document_id, category, severity, clause_id, heading, text, matched
FROM now_ JOIN single USING (category)
ORDER BY category, document_id, ordinal;
