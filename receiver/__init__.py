"""The webhook receiver: inbound messages (NewMessage) and delivery reports, journaled durably."""
