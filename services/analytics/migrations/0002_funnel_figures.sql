-- The funnel's figures, counted as the stamps are made instead of from every message at each
-- read (~190 ms of the three reads at 1,000,000 messages). One row per campaign, journey and
-- UTC day of sending: '' stands for no campaign or no journey, '-infinity' for not sent yet (an
-- open can arrive before its send: it counts in its campaign's figures, not in any day's).
CREATE TABLE funnel_figures (
    campaign_id      text        NOT NULL,
    journey_id       text        NOT NULL,
    day              date        NOT NULL,
    sent             bigint      NOT NULL DEFAULT 0,
    opened           bigint      NOT NULL DEFAULT 0,  -- opened or clicked
    clicked          bigint      NOT NULL DEFAULT 0,
    unsubscribed     bigint      NOT NULL DEFAULT 0,
    bounced          bigint      NOT NULL DEFAULT 0,
    first_sent_at    timestamptz,
    last_activity_at timestamptz,
    PRIMARY KEY (campaign_id, journey_id, day)
);
CREATE INDEX funnel_figures_day ON funnel_figures (day);

INSERT INTO funnel_figures
SELECT COALESCE(campaign_id, ''), COALESCE(journey_id, ''),
       COALESCE((sent_at AT TIME ZONE 'UTC')::date, '-infinity'),
       count(sent_at), count(*) FILTER (WHERE opened_at IS NOT NULL OR clicked_at IS NOT NULL),
       count(clicked_at), count(unsubscribed_at), count(bounced_at), min(sent_at),
       max(GREATEST(sent_at, opened_at, clicked_at, unsubscribed_at, bounced_at))
FROM campaign_messages GROUP BY 1, 2, 3;

-- Only the figures read messages by campaign or journey; nothing reads them so any more.
DROP INDEX campaign_messages_campaign;
DROP INDEX campaign_messages_journey;
