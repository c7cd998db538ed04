"""Notices the node sends itself when the workflow records them: the LEA notice (LEA_NOTIFIED) to the police,
and the notice and takedown (HP_NOTIFIED) to the hosting provider's abuse desk, by SMTP or a signed webhook.

`settings` holds what an operator configures, `compose` turns an item into a notice (its text from a template,
and optionally an X-ARF v4 report), `planner` queues notices in the transaction that records the action,
`smtp` and `webhook` deliver them, and `dispatcher` works the durable queue with persisted backoff. No content
ever: a notice carries the URL only where its template asks for it, and its body is dropped once delivered.
"""
