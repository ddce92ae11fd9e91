#!/bin/sh
# Ray starts Serve's HAProxy through this file (RAY_SERVE_HAPROXY_BINARY_PATH, set by make run):
# haproxy_edge.py makes HAProxy pass on the client's address and keep its stats ports local,
# then execs the real binary with these same arguments.
exec "${HAPROXY_EDGE_PYTHON:-python3}" "$(dirname "$0")/haproxy_edge.py" "$@"
