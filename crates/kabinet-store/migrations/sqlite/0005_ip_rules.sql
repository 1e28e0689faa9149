-- Where a person may sign in from, and session binding (issue 4: B5, X11).
-- ip_rules is a JSON list of addresses and networks; empty means any.
ALTER TABLE users ADD COLUMN ip_rules TEXT NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN session_binding TEXT NOT NULL DEFAULT 'off';
