-- 004: flag clause changes that only touch Markdown formatting (bold,
-- italics, link targets), so analysts can leave them out.
ALTER TABLE changes ADD COLUMN is_formatting_only BOOLEAN NOT NULL DEFAULT false;
