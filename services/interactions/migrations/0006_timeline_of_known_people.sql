-- A web call of a visitor nobody is linked to yet is only its raw row: the timeline holds the
-- touches of customers. Stitching writes a call's entry when a link attributes it, from the raw
-- row (kept for ECRM_INTERACTIONS_RAW_RETENTION_DAYS), so the unattributed copies go, and with
-- them the indexes that found them. Unattributed orders keep their entries (attached by ref).
DELETE FROM timeline WHERE customer_id IS NULL AND ref LIKE 'interaction:%';
DROP INDEX timeline_pending_anonymous;
DROP INDEX timeline_pending_user;
