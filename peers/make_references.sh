#!/usr/bin/env bash
# Builds the peers' own virtual environments (gbstats, obp: old pins that must not
# touch the project's environment) and regenerates the reference files that the
# main test suite compares against (tests/experiments/reference/*.json).
# The bench (bench/experiments.py) also uses peers/.venv-gbstats when present.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3.11}"

make_venv() {
    local venv="peers/$1" req="$2"
    if [ -x "$venv/bin/python" ] && cmp -s "$req" "$venv/.requirements"; then
        return
    fi
    rm -rf "$venv"
    "$PY" -m venv "$venv"
    local links=()
    # the CPU build of torch 2.13.0 lies on this kind of machine's disk
    if [ -d /opt/wheels ]; then links=(--find-links /opt/wheels); fi
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${links[@]}" -r "$req"
    cp "$req" "$venv/.requirements"
}

make_venv .venv-gbstats peers/requirements-gbstats.txt
make_venv .venv-obp peers/requirements-obp.txt
peers/.venv-gbstats/bin/python peers/gbstats_reference.py
peers/.venv-obp/bin/python -W ignore peers/obp_reference.py
