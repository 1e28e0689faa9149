-- Sign-in settings of a company (issue 4): SMS codes as the second factor
-- for its people (M6), e-mail as the login (T4), and the reference way of
-- inviting people (login and a generated password in the e-mail).
ALTER TABLE companies ADD COLUMN sms_second_factor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE companies ADD COLUMN email_is_login BIGINT NOT NULL DEFAULT 0;
ALTER TABLE companies ADD COLUMN password_in_email BIGINT NOT NULL DEFAULT 0;
-- The SMS code of a pending sign-in: stored hashed, sent at most a few
-- times, each send throttled.
ALTER TABLE sign_in_challenges ADD COLUMN sms_code_hash TEXT;
ALTER TABLE sign_in_challenges ADD COLUMN sms_sent_at BIGINT;
ALTER TABLE sign_in_challenges ADD COLUMN sms_sends BIGINT NOT NULL DEFAULT 0;
