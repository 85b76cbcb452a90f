-- A launch materialises its recipients in the background, a chunk of segment members a
-- transaction: `launching` until the last chunk, with the last member materialised kept here.
-- One statement in the send request took ~18 µs a recipient, so past ~500,000 it outlasted the
-- 10 s a request may wait for the database and no such campaign could be sent.
ALTER TABLE campaigns ADD COLUMN launch_cursor uuid;
