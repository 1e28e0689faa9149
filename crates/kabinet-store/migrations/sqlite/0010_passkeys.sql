-- Passkeys (WebAuthn) and trusted devices with a PIN (issue 4, L2, X4).
CREATE TABLE passkeys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id),
    credential_id TEXT NOT NULL UNIQUE,
    public_key TEXT NOT NULL,
    sign_count INTEGER NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE INDEX passkeys_user ON passkeys(user_id);
-- A ceremony in progress: the challenge the browser must sign, kept by the
-- hash of the id handed to the client; single use, short-lived.
CREATE TABLE webauthn_challenges (
    id_hash TEXT PRIMARY KEY,
    user_id INTEGER,
    purpose TEXT NOT NULL,
    challenge TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE trusted_devices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    secret_hash TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users(id),
    pin_hash TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX trusted_devices_user ON trusted_devices(user_id);
