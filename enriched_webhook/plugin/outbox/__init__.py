"""The outbox: every event a durable row until delivered or failed (README, "Delivery").

intake (Task to stored row), store (rows, claims, bodies, the attempt log), delivery (one
attempt: prepare, send, finish), sender (bounded HTTP), retry_policy (what an outcome
means), breaker (the receiver's circuit), cron (the tick), catch_up (Tasks without an
event), operations (what the API and the page can see and do).
"""
