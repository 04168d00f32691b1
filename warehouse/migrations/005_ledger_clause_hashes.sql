-- 005: the ledger also keeps each clause's hash, so that when a new
-- splitting rule changes a known text's clauses, every clause whose text is
-- unchanged keeps its id (NULL for entries recorded before this migration).
ALTER TABLE clause_ledger ADD COLUMN clause_sha256s VARCHAR[];
