-- 002: clause history. Clause ids are issued once and recorded in
-- clause_ledger, the one input of this layer that is not derived: a rebuild
-- copies it and re-derives clauses, clause_versions and changes from the
-- versions' texts, so every id comes back the same.

-- The ids issued for the clauses of one version text, in ordinal order.
CREATE TABLE clause_ledger (
    document_id     VARCHAR NOT NULL,
    text_sha256     VARCHAR NOT NULL,           -- the version's text
    clause_ids      VARCHAR[] NOT NULL,         -- one per clause, in ordinal order
    issued_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (document_id, text_sha256)
);

-- One row per clause (a provision followed across versions).
CREATE TABLE clauses (
    clause_id           VARCHAR PRIMARY KEY,    -- 'P-000001', issued once, never reused
    document_id         VARCHAR NOT NULL,
    first_seen_at       TIMESTAMPTZ NOT NULL,   -- valid_from of the first version that has it
    last_seen_at        TIMESTAMPTZ NOT NULL,   -- last_seen_at of the last version that has it
    is_current          BOOLEAN NOT NULL,       -- in the document's current version
    version_count       INTEGER NOT NULL,
    lineage_clause_id   VARCHAR                 -- split from / merged into, when known
);

-- One row per clause per version (type-2: each row carries the version's
-- validity interval).
CREATE TABLE clause_versions (
    clause_id       VARCHAR NOT NULL,
    version_id      VARCHAR NOT NULL,
    document_id     VARCHAR NOT NULL,
    ordinal         INTEGER NOT NULL,           -- 0-based position in the version
    heading_path    VARCHAR[] NOT NULL,
    label           VARCHAR,                    -- the text's own number: '4.2', '(a)'
    kind            VARCHAR NOT NULL,           -- paragraph | list_item | table_row | heading
    text            VARCHAR NOT NULL,
    text_sha256     VARCHAR NOT NULL,
    valid_from      TIMESTAMPTZ NOT NULL,
    valid_to        TIMESTAMPTZ,                -- NULL while the version is current
    PRIMARY KEY (clause_id, version_id)
);

-- One row per clause-level change between two consecutive versions.
CREATE TABLE changes (
    change_id           VARCHAR PRIMARY KEY,    -- sha256(to_version_id|clause_id|kind)[:24]
    document_id         VARCHAR NOT NULL,
    from_version_id     VARCHAR NOT NULL,
    to_version_id       VARCHAR NOT NULL,
    changed_at          TIMESTAMPTZ NOT NULL,   -- valid_from of to_version
    clause_id           VARCHAR NOT NULL,
    kind                VARCHAR NOT NULL,       -- added | removed | modified | moved
    old_ordinal         INTEGER,
    new_ordinal         INTEGER,
    old_text            VARCHAR,
    new_text            VARCHAR,
    similarity          DOUBLE NOT NULL,        -- 0..1, label-stripped bodies
    method              VARCHAR NOT NULL,       -- hash | similarity | id | none
    diff_ops            VARCHAR NOT NULL,       -- JSON list of [op, old words, new words]
    diff_text           VARCHAR NOT NULL,       -- readable: kept [-removed-]{+added+}
    lineage_clause_id   VARCHAR
);
