-- 001: the spine. Platforms, documents, captures, extractions, texts,
-- versions, runs and problems. All times are UTC TIMESTAMPTZ.

CREATE TABLE platforms (
    platform_id   VARCHAR PRIMARY KEY,          -- registry slug, e.g. 'anthropic'
    name          VARCHAR NOT NULL
);

CREATE TABLE documents (
    document_id       VARCHAR PRIMARY KEY,      -- 'D-00001', issued once, never reused
    platform_id       VARCHAR NOT NULL,
    slug              VARCHAR NOT NULL,         -- unique within the platform
    name              VARCHAR NOT NULL,
    terms_type        VARCHAR NOT NULL,         -- an Open Terms Archive terms type
    urls              VARCHAR[] NOT NULL,       -- pages, concatenated in this order
    select_css        VARCHAR[] NOT NULL,
    remove_css        VARCHAR[] NOT NULL,
    first_tracked_at  TIMESTAMPTZ NOT NULL,     -- first time a run saw it in the registry
    last_verified_at  TIMESTAMPTZ,              -- last successful live capture of every page
    UNIQUE (platform_id, slug)
);

-- One row per observation of one page: a live fetch, an archived capture,
-- or a failed attempt at either (raw_sha256 NULL, error set).
CREATE TABLE captures (
    capture_id      VARCHAR PRIMARY KEY,        -- sha256(source|url|captured_at)[:24]
    document_id     VARCHAR NOT NULL,
    page            INTEGER NOT NULL,           -- index into documents.urls
    source          VARCHAR NOT NULL,           -- 'live' | 'wayback'
    captured_at     TIMESTAMPTZ NOT NULL,       -- archive timestamp, or fetch time for live
    original_url    VARCHAR NOT NULL,
    archive_url     VARCHAR,                    -- human Wayback URL (no id_)
    http_status     INTEGER,
    mime_type       VARCHAR,
    content_type    VARCHAR,                    -- full header as received
    raw_sha256      VARCHAR,                    -- key into the raw store
    raw_bytes       BIGINT,
    is_truncated    BOOLEAN NOT NULL DEFAULT false,
    wayback_digest  VARCHAR,                    -- base32 SHA-1 from the CDX listing
    digest_check    VARCHAR,                    -- 'verified' | 'mismatch' | 'unverifiable'
    is_download_skipped BOOLEAN NOT NULL DEFAULT false,  -- bytes already held (same digest)
    fetched_at      TIMESTAMPTZ NOT NULL,
    confirmed_at    TIMESTAMPTZ,                -- live: last fetch that returned these same bytes
    error           VARCHAR,                    -- why the fetch failed, NULL when it worked
    run_id          VARCHAR NOT NULL
);

-- One row per distinct raw body and extraction setting.
CREATE TABLE extractions (
    raw_sha256      VARCHAR NOT NULL,
    extractor_key   VARCHAR NOT NULL,           -- extractor version + selectors
    status          VARCHAR NOT NULL,           -- ok | empty | unsupported | not_document | undecodable
    reason          VARCHAR,
    text_sha256     VARCHAR,                    -- NULL unless status = 'ok'
    title           VARCHAR,
    language        VARCHAR,
    fingerprint     VARCHAR,                    -- SHA-256 of the visible text (cheap pre-check)
    extracted_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (raw_sha256, extractor_key)
);

CREATE TABLE texts (
    text_sha256     VARCHAR PRIMARY KEY,
    text            VARCHAR NOT NULL,
    chars           INTEGER NOT NULL
);

CREATE TABLE versions (
    version_id      VARCHAR PRIMARY KEY,        -- document_id@valid_from.text_sha256[:8]
    document_id     VARCHAR NOT NULL,
    text_sha256     VARCHAR NOT NULL,
    valid_from      TIMESTAMPTZ NOT NULL,       -- first observation of this text
    valid_to        TIMESTAMPTZ,                -- first observation of the next text; NULL while current
    last_seen_at    TIMESTAMPTZ NOT NULL,
    capture_count   INTEGER NOT NULL,
    stated_date     DATE                        -- the document's own "last updated" date
);

CREATE TABLE version_captures (
    version_id      VARCHAR NOT NULL,
    capture_id      VARCHAR NOT NULL,
    PRIMARY KEY (version_id, capture_id)
);

-- What each document's versions were last built from, so an unchanged
-- document is not rebuilt.
CREATE TABLE document_state (
    document_id     VARCHAR PRIMARY KEY,
    inputs_sha256   VARCHAR NOT NULL,
    built_at        TIMESTAMPTZ NOT NULL
);

-- Bad input that did not become a version: a failed fetch, a CDX line that
-- did not parse, a page that is not the document. One row per problem.
CREATE TABLE problems (
    problem_id      VARCHAR PRIMARY KEY,        -- sha256 of its identifying fields
    run_id          VARCHAR NOT NULL,
    document_id     VARCHAR,
    stage           VARCHAR NOT NULL,           -- cdx | fetch | extract | screen
    url             VARCHAR,
    captured_at     TIMESTAMPTZ,
    capture_id      VARCHAR,
    reason          VARCHAR NOT NULL,
    detail          VARCHAR,
    recorded_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE runs (
    run_id          VARCHAR PRIMARY KEY,
    flow            VARCHAR NOT NULL,
    started_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ,
    status          VARCHAR NOT NULL,           -- running | completed | failed | stopped
    parameters      VARCHAR,                    -- JSON
    counts          VARCHAR,                    -- JSON
    message         VARCHAR
);
