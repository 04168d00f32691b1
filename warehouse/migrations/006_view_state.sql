-- 006: which text of the analyst views and macros the file holds, so that a
-- writer that opens the file recreates them only when warehouse/views
-- changed (recreating them took about a third of an idle run's time).
-- One row at most.
CREATE TABLE view_state (
    views_sha256    VARCHAR NOT NULL,   -- SHA-256 of every view file, in name order
    created_at      TIMESTAMPTZ NOT NULL
);
