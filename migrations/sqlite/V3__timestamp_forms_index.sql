-- An index of the rows whose timestamp is not in the form aistamp and
-- ai-stamp 0.1.0 write (YYYY-MM-DD HH:MM:SS.ffffff, UTC): rows written by
-- hand or by other tools, with a 'T', without a fraction, or with an offset.
-- Comparing such text with a time bound can misjudge it, so before a time
-- filter the store looks here for rows near the bound, and judges them by
-- their parsed time when there are any.
--
-- For rows in the written form the index stays empty: inserting one costs
-- the test of the condition and no page. The condition is the same text as
-- in the store's queries, so that SQLite uses the index for them.
CREATE INDEX IF NOT EXISTS ix_provenance_records_timestamp_other_forms
	ON provenance_records (timestamp)
	WHERE NOT (timestamp GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]');
