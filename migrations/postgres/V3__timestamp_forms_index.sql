-- Version 3 on SQLite indexes the rows whose timestamp text is not in the
-- form the store writes, so that time filters can judge them exactly. A
-- PostgreSQL timestamp column holds times, not text, and needs no such
-- index; this version exists so that both backends keep the same version
-- numbers with the same meaning.
SELECT 1;
