"""What an operator watches: /metrics for Prometheus (requests, the mail queue, scheduled jobs) and the
record of each scheduled job's last run."""
