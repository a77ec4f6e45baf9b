-- Addresses compared without regard to case (is a sender a known correspondent?)
-- use this index instead of scanning every address of the mailbox.
CREATE INDEX addresses_address_nocase ON addresses (address COLLATE NOCASE, field);
