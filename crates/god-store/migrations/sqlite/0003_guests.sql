-- Guests: users who log in through an OpenID Connect provider. `guest_subject` is the
-- provider's stable identity (`<issuer> <sub>`); a guest runs nothing until an administrator
-- sets `guest_active`.
ALTER TABLE users ADD COLUMN guest_subject TEXT;
ALTER TABLE users ADD COLUMN guest_active INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX users_guest_subject ON users (guest_subject) WHERE guest_subject IS NOT NULL;
