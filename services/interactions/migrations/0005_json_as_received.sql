-- Documents stored as JSON text: `json` keeps the text as written and costs a syntax check on
-- insert, where `jsonb` parsed each into a binary tree. Nothing queries inside these columns;
-- they are read back whole (timeline API, export).
ALTER TABLE interactions
    ALTER COLUMN properties DROP DEFAULT,
    ALTER COLUMN traits DROP DEFAULT,
    ALTER COLUMN context DROP DEFAULT;
ALTER TABLE interactions
    ALTER COLUMN properties TYPE json USING properties::json,
    ALTER COLUMN traits TYPE json USING traits::json,
    ALTER COLUMN context TYPE json USING context::json;
ALTER TABLE interactions
    ALTER COLUMN properties SET DEFAULT '{}',
    ALTER COLUMN traits SET DEFAULT '{}',
    ALTER COLUMN context SET DEFAULT '{}';
ALTER TABLE timeline ALTER COLUMN data DROP DEFAULT;
ALTER TABLE timeline ALTER COLUMN data TYPE json USING data::json;
ALTER TABLE timeline ALTER COLUMN data SET DEFAULT '{}';
