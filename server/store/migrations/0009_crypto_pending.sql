-- Messages whose OpenPGP step (decrypt, verify, Autocrypt and TOFU updates) has
-- not finished: marked in the transaction that stores the message, cleared with
-- the step's outcome. A crash or an error in between leaves the mark, and the
-- next open runs the step again: no message stays undecrypted for ever.
CREATE TABLE crypto_pending (
    message INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE
) STRICT;
