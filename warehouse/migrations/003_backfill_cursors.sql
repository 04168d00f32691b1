-- 003: where each page's Wayback backfill stopped, and when the archive
-- asked us to come back. All times are UTC TIMESTAMPTZ.
--
-- A cursor says: every capture of `original_url` listed from `listed_from`
-- up to and including `cursor_at` is recorded with its bytes. The next
-- backfill lists the archive from `cursor_at` (Wayback's `from` is
-- inclusive, so the cursor's own capture comes back first and keeps
-- `collapse=digest` identical to an uninterrupted listing). A cursor only
-- moves after the captures behind it are committed.
CREATE TABLE backfill_cursors (
    original_url    VARCHAR PRIMARY KEY,
    document_id     VARCHAR NOT NULL,
    listed_from     VARCHAR,                    -- the `from` prefix the cursor counts from; NULL = the beginning
    cursor_at       TIMESTAMPTZ,                -- last capture of the fully recorded prefix; NULL = none yet
    retry_after     TIMESTAMPTZ,                -- the archive refused: come back after this; NULL otherwise
    refusal         VARCHAR,                    -- the refusal message, NULL when retry_after is NULL
    updated_at      TIMESTAMPTZ NOT NULL,
    run_id          VARCHAR NOT NULL
);
