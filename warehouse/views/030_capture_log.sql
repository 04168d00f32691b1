-- analyst.capture_log
-- Grain: one row per capture (an observation of one page, or a failed try).
-- Times: TIMESTAMPTZ, UTC. `outcome` says what became of it:
--   failed       the fetch failed (see error)
--   stored       bytes are in the raw store, not yet extracted
--   ok           extracted; its text feeds the document's versions
--   empty | unsupported | not_document | undecodable   extracted, rejected (see reason)
--   extractor_error   the extractor broke on this page (reason holds the error)
CREATE OR REPLACE VIEW analyst.capture_log AS
SELECT
    d.platform_id,
    c.document_id,
    c.page,
    c.capture_id,
    c.source,
    c.captured_at,
    c.original_url,
    c.archive_url,
    c.http_status,
    c.mime_type,
    c.raw_sha256,
    c.wayback_digest,
    c.digest_check,
    c.is_download_skipped,
    CASE WHEN c.raw_sha256 IS NULL THEN 'failed'
         WHEN e.status IS NULL THEN 'stored'
         ELSE e.status END AS outcome,
    coalesce(c.error, e.reason) AS reason,
    c.fetched_at
FROM captures c
JOIN documents d USING (document_id)
LEFT JOIN (
    -- the latest extraction of each body (one extractor setting per document)
    SELECT raw_sha256, arg_max(status, extracted_at) AS status, arg_max(reason, extracted_at) AS reason
    FROM extractions GROUP BY raw_sha256
) e USING (raw_sha256);
