"""E-mail: parsing inbound messages, composing outbound ones, threading and loop rules (pure; adapters for IMAP/SMTP come separately)."""
