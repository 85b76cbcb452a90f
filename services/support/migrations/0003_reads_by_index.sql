-- Reads that walked whole tables (bench/RESULTS.md, "Reads that walked whole tables"):
-- an agent's or a team's queue and a customer's tickets, newest first; tickets with a tag;
CREATE INDEX tickets_assignee ON tickets (assignee, id) WHERE assignee IS NOT NULL;
CREATE INDEX tickets_team ON tickets (team, id) WHERE team IS NOT NULL;
CREATE INDEX tickets_tags ON tickets USING gin (tags);
CREATE INDEX tickets_customer_page ON tickets (customer_id, id);
DROP INDEX tickets_customer;
-- a ticket's outgoing mail (merges, erasure) and a sender's quarantined mail (erasure).
CREATE INDEX outgoing_mail_ticket ON outgoing_mail (ticket_id);
CREATE INDEX quarantined_mail_from ON quarantined_mail (lower(mail_from));
