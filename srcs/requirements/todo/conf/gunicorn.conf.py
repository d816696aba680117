# gunicorn for the todo app, behind nginx on the frontend network.
bind = "0.0.0.0:8000"
# Two processes for two cores; threads because requests mostly wait on the store.
workers = 2
threads = 4
worker_class = "gthread"
timeout = 30
graceful_timeout = 10
keepalive = 65
# Errors to the container's stderr. No access log: nginx's already has every
# request with its status and time, and a second line per request through
# Docker's log driver cost about a tenth of the todo list's rate.
accesslog = None
errorlog = "-"
# Requests come through nginx only.
forwarded_allow_ips = "*"
limit_request_line = 8190
limit_request_fields = 100
