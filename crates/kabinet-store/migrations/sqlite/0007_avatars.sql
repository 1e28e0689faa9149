-- Avatars (issue 4, B5): the checked picture and its content type.
ALTER TABLE users ADD COLUMN avatar BLOB;
ALTER TABLE users ADD COLUMN avatar_type TEXT;
