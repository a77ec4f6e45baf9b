-- The spam filter's model. Tokens are words, addresses and domains taken from the
-- mail itself, so they are as private as the mail: they live here, in the encrypted
-- store, and nowhere else.

-- How many trained spam and ham messages contained each token. A token whose
-- counts both fall to zero is deleted, so training then untraining leaves no trace.
CREATE TABLE spam_tokens (
    token TEXT    PRIMARY KEY,
    spam  INTEGER NOT NULL DEFAULT 0 CHECK (spam >= 0),
    ham   INTEGER NOT NULL DEFAULT 0 CHECK (ham >= 0)
) STRICT, WITHOUT ROWID;

-- The number of messages trained in each class: the denominators of the token
-- ratios. Exactly two rows.
CREATE TABLE spam_totals (
    class    TEXT    PRIMARY KEY CHECK (class IN ('spam', 'ham')),
    messages INTEGER NOT NULL DEFAULT 0 CHECK (messages >= 0)
) STRICT, WITHOUT ROWID;
INSERT INTO spam_totals (class, messages) VALUES ('spam', 0), ('ham', 0);

-- Which class each trained message was learnt as, by the SHA-256 of its bytes (the
-- key of `messages` too, and what identifies a file given to `spam learn`). A
-- correction untrains the old class before training the new one; learning the same
-- message as the same class again changes nothing.
CREATE TABLE spam_trained (
    sha256 BLOB PRIMARY KEY,
    class  TEXT NOT NULL CHECK (class IN ('spam', 'ham'))
) STRICT, WITHOUT ROWID;
