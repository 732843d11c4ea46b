#!/usr/bin/env bash
# `make demo`: a whole January review cycle on the invented sample data shipped in input/.
# Replies and confirmations are a SIMULATION (tools/simulate_replies.py); nobody is emailed.
set -euo pipefail
CYCLE="${1:-2027}"
SAMTALE=".venv/bin/samtale"
PY=".venv/bin/python"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # the simulation lives in testkit/, beside the package
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. Check the roster and the templates"
$SAMTALE check

step "2. Generate the preparation forms (last year's agreements from input/answers-2026.xlsx)"
$SAMTALE generate --cycle "$CYCLE" --previous input/answers-2026.xlsx

step "3. Write the emails as drafts in the outbox (nothing is sent)"
$SAMTALE send --cycle "$CYCLE" --kind prep

step "3b. Schedule the talks (output/$CYCLE/schedule.xlsx) and write the invitations to the outbox"
$SAMTALE schedule --cycle "$CYCLE"
$SAMTALE send --cycle "$CYCLE" --kind invite

step "4. SIMULATION: invented people fill in and return their forms, plus a few bad files"
$PY tools/simulate_replies.py prep --cycle "$CYCLE"

step "5. Collect the returned forms"
$SAMTALE collect --cycle "$CYCLE"

step "6. Status"
$SAMTALE status --cycle "$CYCLE"

step "7. Minutes forms for the managers"
$SAMTALE minutes --cycle "$CYCLE"

step "8. SIMULATION: managers confirm the minutes, then the employees"
$PY tools/simulate_replies.py minutes --cycle "$CYCLE"
$SAMTALE collect --cycle "$CYCLE" | grep -E '^(Minutes|Found|Answers)' || true

step "9. Seal the confirmed minutes with a DEMO certificate and archive them"
export SAMTALE_SEAL_PASSWORD="${SAMTALE_SEAL_PASSWORD:-demo-only-password}"
$PY tools/make_demo_certificate.py
$SAMTALE finalize --cycle "$CYCLE"

step "9a. The HR report: progress, ratings, the psychosocial factors, competence and goals, against 2026"
$SAMTALE report --cycle "$CYCLE" --compare-with input/answers-2026.xlsx

step "9b. Book the agreed follow-ups as meeting requests (drafts in the outbox)"
$SAMTALE send --cycle "$CYCLE" --kind followups

step "10. Verify the archive"
$SAMTALE verify --cycle "$CYCLE"
step "11. What the [retention] rules would delete (a dry run: nothing is deleted)"
$SAMTALE retention

printf '\nSealed PDFs are in output/archive/%s/ (demo certificate: not a real seal).\n' "$CYCLE"
printf 'The HR report: output/%s/report/report.html (and report.xlsx).\n' "$CYCLE"
