"""gunicorn in production: `gunicorn -c deploy/gunicorn.conf.py` from the project directory, behind the proxy in
deploy/nginx.conf. Read by gunicorn (and by tests/clinic/test_deploy_limits.py, which starts it).

Environment: GUNICORN_BIND (default 127.0.0.1:8000, the proxy's upstream), WEB_CONCURRENCY (worker processes,
default 2), GUNICORN_THREADS (threads per worker, default 8), FORWARDED_ALLOW_IPS (addresses whose
X-Forwarded-Proto gunicorn believes, default the local proxy). Each worker thread keeps its own database
connection: PostgreSQL needs WEB_CONCURRENCY x GUNICORN_THREADS connections for the web, plus the Celery worker's.
"""

import os

wsgi_app = "clinic.wsgi:application"
bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")]

# Threads, not sync workers. A sync worker serves one connection at a time, so a client that sends its request
# slowly holds the whole process until `timeout` kills it: two such clients are enough to stall a server.
# A gthread worker waits for a new connection's first bytes in its poller, without a thread, and gives each request
# its own thread: a slow client holds one thread of GUNICORN_THREADS, and the rest go on serving. gthread ships with
# gunicorn (no extra dependency). The proxy in front buffers whole requests, so slow clients normally never reach
# gunicorn at all; this holds the line when one does.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# Open connections per worker, idle keep-alive ones included (past it, new connections wait in the backlog).
worker_connections = 200

# For gthread this is the worker's heartbeat: its main loop must answer within it or the arbiter restarts it. A
# request in a thread is not bounded by it; the proxy's proxy_read_timeout bounds what a client waits for.
timeout = 30
# On a restart or deploy, requests in progress get this long to finish before their worker is killed.
graceful_timeout = 30
# Seconds an idle keep-alive connection (from the proxy) stays open; short, so idle connections free their slot.
keepalive = 5

# Request line and headers, refused with 400 before the app sees them. The app's longest URLs (reset and
# invitation links with their signed tokens) are under 300 bytes; a browser sends 10-20 headers with small cookies.
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190

# A worker is replaced after this many requests (spread by the jitter), so a slow leak cannot grow for months.
max_requests = 2000
max_requests_jitter = 200

# The heartbeat file on a RAM disk: a worker on a slow or full disk is not mistaken for a hung one.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108

# Only the local proxy may tell gunicorn that the client used HTTPS.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# No runtime control socket: nothing here uses gunicornc, and two instances run by one user would share its path.
control_socket_disable = True

# Errors to stderr (the service manager's log); access lines are the proxy's job.
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
