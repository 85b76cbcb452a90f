-- A time-window segment's sweep (every ECRM_CAMPAIGNS_SWEEP_INTERVAL) evaluates again only the
-- customers with an event of a window's name that left the window since the last sweep: it
-- reads those events by name and time.
CREATE INDEX audience_events_by_time ON audience_events (name, at);
