-- Reads that walked whole tables (bench/RESULTS.md, "Reads that walked whole tables"):
-- a page of a journey's messages, in id order (a campaign's pages follow its unique
-- (campaign_id, customer_id) index: one more index on every launched message cost launches
-- a fifth of their time);
CREATE INDEX messages_journey_page ON messages (journey_id, id) WHERE journey_id IS NOT NULL;
-- the `mails_retrying` work queue, without reading every pending mail of a launch.
CREATE INDEX messages_retrying ON messages (send_after) WHERE status = 'pending' AND attempts > 0;
