-- 008: what the inputs of processing looked like when the last process run
-- ended with everything extracted and built, so that a run with nothing new
-- stops after one cheap query instead of hashing every document's captures
-- (flows/process.py). One row at most.
CREATE TABLE process_state (
    watermark     VARCHAR NOT NULL,   -- see warehouse/load.py input_watermark
    recorded_at   TIMESTAMPTZ NOT NULL
);
