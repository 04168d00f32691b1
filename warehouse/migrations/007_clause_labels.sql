-- 007: clause labels (transforms/classify.py). A label is a pure function of
-- a clause text, so the table is keyed by the text's SHA-256 (join it to
-- clause_versions.text_sha256): one row per (clause text, category).
CREATE TABLE clause_labels (
    text_sha256   VARCHAR NOT NULL,     -- clause_versions.text_sha256
    category      VARCHAR NOT NULL,     -- e.g. 'ai_training', 'data_retention'
    severity      VARCHAR NOT NULL,     -- 'high' | 'medium' | 'low'
    rule          VARCHAR NOT NULL,     -- '<category>/<rule>' that matched first
    matched       VARCHAR NOT NULL,     -- the words it matched (lower case, marks removed)
    regulations   VARCHAR[] NOT NULL,   -- what the category touches: 'GDPR', 'CCPA/CPRA', ...
    taxonomy      VARCHAR NOT NULL,     -- transforms.classify.TAXONOMY_VERSION
    PRIMARY KEY (text_sha256, category)
);
