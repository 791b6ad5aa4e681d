"""Letters: composing outgoing letters from templates, tracking delivery, logging replies, attachments."""
