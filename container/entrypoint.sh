#!/bin/sh
# Container entry point. SageMaker runs `docker run <image> serve`; `serve` (or no argument)
# starts the model server, anything else runs as a command (e.g. `bash` for debugging).
set -eu
if [ "$#" -eq 0 ] || [ "$1" = "serve" ]; then
    [ "$#" -gt 0 ] && shift
    exec python -m expense_cli.serving "$@"
fi
exec "$@"
