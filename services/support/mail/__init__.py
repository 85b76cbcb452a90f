"""The email channel: inbound SMTP server, parsing, outbound sender."""
