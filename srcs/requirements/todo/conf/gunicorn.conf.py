# gunicorn for the todo app, behind nginx on the frontend network.
bind = "0.0.0.0:8000"
# Two processes for two cores; threads because requests mostly wait on the store.
workers = 2
threads = 4
worker_class = "gthread"
timeout = 30
graceful_timeout = 10
keepalive = 65
# Logs to the container's stdout/stderr.
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
# Requests come through nginx only.
forwarded_allow_ips = "*"
limit_request_line = 8190
limit_request_fields = 100
